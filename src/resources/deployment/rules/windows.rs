//! RDS's two weekly schedules of an instance, checked before any AWS call: the maintenance window
//! (`ddd:hh24:mi-ddd:hh24:mi`, weekly) and the backup window (`hh24:mi-hh24:mi`, daily), both UTC
//! and at least 30 minutes long. RDS refuses a window that overlaps the other only when the
//! `ModifyDBInstance` runs; here the overlap is an error on the attribute at `terraform validate`.

use std::ops::Range;

/// The shortest window RDS accepts, in minutes.
pub const MIN_WINDOW_MINUTES: u32 = 30;
const MINUTES_PER_DAY: u32 = 24 * 60;
const MINUTES_PER_WEEK: u32 = 7 * MINUTES_PER_DAY;
/// RDS's day names, in the order of the week it counts from.
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A weekly maintenance window: its minutes from Monday 00:00 UTC, the end possibly past the week's
/// end (a window from Sunday to Monday).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceWindow(Range<u32>);

/// A daily backup window: its minutes from 00:00 UTC, the end possibly past midnight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupWindow(Range<u32>);

/// `hh24:mi` as minutes from midnight.
fn time_of_day(text: &str) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    let number = |part: &str, below: u32| {
        (part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
            .filter(|n| *n < below)
    };
    Some(number(hours, 24)? * 60 + number(minutes, 60)?)
}

/// `ddd:hh24:mi` as minutes from Monday midnight.
fn time_of_week(text: &str) -> Option<u32> {
    let (day, time) = text.split_once(':')?;
    let day = u32::try_from(DAYS.iter().position(|name| *name == day)?).ok()?;
    Some(day * MINUTES_PER_DAY + time_of_day(time)?)
}

/// The span from `start` to `end` on a clock of `period` minutes, at least [`MIN_WINDOW_MINUTES`].
fn span(start: u32, end: u32, period: u32, text: &str) -> Result<Range<u32>, String> {
    let end = if end >= start { end } else { end + period };
    if end - start < MIN_WINDOW_MINUTES {
        return Err(format!(
            "{text:?} lasts {} minutes; RDS needs a window of at least {MIN_WINDOW_MINUTES}.",
            end - start
        ));
    }
    Ok(start..end)
}

impl MaintenanceWindow {
    /// Parses `ddd:hh24:mi-ddd:hh24:mi` (days `mon` … `sun`, lowercase as RDS reports them).
    pub fn parse(text: &str) -> Result<Self, String> {
        let malformed = || {
            format!(
                "{text:?} is not a maintenance window; write ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:05:00-sun:06:00."
            )
        };
        let (start, end) = text.split_once('-').ok_or_else(malformed)?;
        let (start, end) = (time_of_week(start).ok_or_else(malformed)?, time_of_week(end).ok_or_else(malformed)?);
        span(start, end, MINUTES_PER_WEEK, text).map(Self)
    }

    /// Whether RDS's maintenance could run while the daily `backup` runs.
    pub fn overlaps(&self, backup: &BackupWindow) -> bool {
        // The backup window of every day of the week, and of the day after (a maintenance window
        // may run past Sunday midnight into the next week).
        (0..=7).any(|day| {
            let daily = (backup.0.start + day * MINUTES_PER_DAY)..(backup.0.end + day * MINUTES_PER_DAY);
            [0, MINUTES_PER_WEEK].iter().any(|shift| {
                let weekly = (self.0.start + shift)..(self.0.end + shift);
                weekly.start < daily.end && daily.start < weekly.end
            })
        })
    }
}

impl BackupWindow {
    /// Parses `hh24:mi-hh24:mi`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let malformed = || format!("{text:?} is not a backup window; write hh24:mi-hh24:mi in UTC, e.g. 03:00-03:30.");
        let (start, end) = text.split_once('-').ok_or_else(malformed)?;
        let (start, end) = (time_of_day(start).ok_or_else(malformed)?, time_of_day(end).ok_or_else(malformed)?);
        span(start, end, MINUTES_PER_DAY, text).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maintenance(text: &str) -> MaintenanceWindow {
        MaintenanceWindow::parse(text).unwrap_or_else(|problem| panic!("{problem}"))
    }

    fn backup(text: &str) -> BackupWindow {
        BackupWindow::parse(text).unwrap_or_else(|problem| panic!("{problem}"))
    }

    #[test]
    fn windows_are_rds_formats_of_at_least_thirty_minutes() {
        assert_eq!(maintenance("mon:00:00-mon:00:30"), MaintenanceWindow(0..30));
        assert_eq!(maintenance("sun:23:45-mon:00:15"), MaintenanceWindow(10065..10095), "across the week's end");
        assert_eq!(backup("03:00-03:30"), BackupWindow(180..210));
        assert_eq!(backup("23:50-00:20"), BackupWindow(1430..1460), "across midnight");
        for bad in [
            "",
            "sun:05:00",
            "Sun:05:00-sun:06:00",
            "sun:5:00-sun:06:00",
            "sun:24:00-mon:01:00",
            "xyz:05:00-sun:06:00",
            "sun:05:60-sun:07:00",
            "sun:05:00-sun:06:00-",
        ] {
            assert!(MaintenanceWindow::parse(bad).is_err_and(|p| p.contains("ddd:hh24:mi")), "{bad:?}");
        }
        for bad in ["", "03:00", "3:00-03:30", "03:00-03:30 ", "a3:00-03:30", "03:00-24:00"] {
            assert!(BackupWindow::parse(bad).is_err_and(|p| p.contains("hh24:mi-hh24:mi")), "{bad:?}");
        }
        for short in ["sun:05:00-sun:05:29", "sun:05:00-sun:05:00"] {
            assert!(MaintenanceWindow::parse(short).is_err_and(|p| p.contains("at least 30")), "{short:?}");
        }
        assert!(BackupWindow::parse("03:00-03:29").is_err_and(|p| p.contains("at least 30")));
    }

    #[test]
    fn maintenance_and_backup_windows_must_not_overlap() {
        let nightly = backup("03:00-03:30");
        assert!(maintenance("sun:03:15-sun:04:00").overlaps(&nightly));
        assert!(maintenance("wed:02:00-wed:03:01").overlaps(&nightly));
        assert!(!maintenance("wed:02:00-wed:03:00").overlaps(&nightly), "touching is not overlapping");
        assert!(!maintenance("sun:05:00-sun:06:00").overlaps(&nightly));
        assert!(maintenance("sun:23:00-mon:03:10").overlaps(&nightly), "runs into Monday's backup");
        assert!(maintenance("sat:23:50-sun:00:30").overlaps(&backup("23:55-00:25")), "both across midnight");
        assert!(
            maintenance("mon:00:10-mon:00:40").overlaps(&backup("23:55-00:25")),
            "Sunday's backup runs into Monday"
        );
        assert!(!maintenance("mon:01:00-mon:02:00").overlaps(&backup("23:55-00:25")));
    }
}
