//! The msgpack primitives the codec needs: a bounds-checked reader and a compact writer.
//!
//! Hand-written so that every length is checked against the bytes that remain *before* anything
//! is allocated or sliced, and so that the writer chooses exactly the encodings cty does (smallest
//! integer form, float64 for floats, smallest string/array/map header, fixext where possible).

/// The header of one msgpack item; strings, binaries and extensions carry their payload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Item<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float32(f32),
    Float64(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Array(usize),
    Map(usize),
    Ext(i8, &'a [u8]),
}

impl Item<'_> {
    pub(super) fn describe(&self) -> &'static str {
        match self {
            Item::Nil => "nil",
            Item::Bool(_) => "a bool",
            Item::Int(_) | Item::Uint(_) => "an integer",
            Item::Float32(_) | Item::Float64(_) => "a float",
            Item::Str(_) => "a string",
            Item::Bin(_) => "binary data",
            Item::Array(_) => "an array",
            Item::Map(_) => "a map",
            Item::Ext(..) => "an extension",
        }
    }
}

/// Reads msgpack items from a byte slice; every failure is a message, never a panic.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, position: 0 }
    }

    pub(super) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.position)
    }

    fn take(&mut self, count: usize) -> Result<&'a [u8], String> {
        let end = self
            .position
            .checked_add(count)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| format!("unexpected end of input: {count} bytes needed, {} left", self.remaining()))?;
        let slice = self.bytes.get(self.position..end).ok_or("unexpected end of input")?;
        self.position = end;
        Ok(slice)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let slice = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(u8::from_be_bytes(self.take_array()?))
    }

    fn u16(&mut self) -> Result<usize, String> {
        Ok(usize::from(u16::from_be_bytes(self.take_array()?)))
    }

    fn u32(&mut self) -> Result<usize, String> {
        usize::try_from(u32::from_be_bytes(self.take_array()?)).map_err(|_| "length too large".to_owned())
    }

    /// A count of items that each need at least `min_bytes_each` bytes; refused before any
    /// allocation when the input is too short to hold them.
    fn count(&self, count: usize, min_bytes_each: usize) -> Result<usize, String> {
        match count.checked_mul(min_bytes_each) {
            Some(needed) if needed <= self.remaining() => Ok(count),
            _ => Err(format!("declared {count} elements but only {} bytes remain", self.remaining())),
        }
    }

    pub(super) fn next(&mut self) -> Result<Item<'a>, String> {
        let marker = self.u8()?;
        let item = match marker {
            0x00..=0x7f => Item::Int(i64::from(marker)),
            0x80..=0x8f => Item::Map(self.count(usize::from(marker & 0x0f), 2)?),
            0x90..=0x9f => Item::Array(self.count(usize::from(marker & 0x0f), 1)?),
            0xa0..=0xbf => Item::Str(self.take(usize::from(marker & 0x1f))?),
            0xc0 => Item::Nil,
            0xc2 => Item::Bool(false),
            0xc3 => Item::Bool(true),
            0xc4..=0xc9 | 0xd9..=0xdf => self.sized(marker)?,
            0xca => Item::Float32(f32::from_be_bytes(self.take_array()?)),
            0xcb => Item::Float64(f64::from_be_bytes(self.take_array()?)),
            0xcc => Item::Uint(u64::from(self.u8()?)),
            0xcd => Item::Uint(u64::from(u16::from_be_bytes(self.take_array()?))),
            0xce => Item::Uint(u64::from(u32::from_be_bytes(self.take_array()?))),
            0xcf => Item::Uint(u64::from_be_bytes(self.take_array()?)),
            0xd0 => Item::Int(i64::from(i8::from_be_bytes(self.take_array()?))),
            0xd1 => Item::Int(i64::from(i16::from_be_bytes(self.take_array()?))),
            0xd2 => Item::Int(i64::from(i32::from_be_bytes(self.take_array()?))),
            0xd3 => Item::Int(i64::from_be_bytes(self.take_array()?)),
            0xd4 => self.ext(1)?,
            0xd5 => self.ext(2)?,
            0xd6 => self.ext(4)?,
            0xd7 => self.ext(8)?,
            0xd8 => self.ext(16)?,
            0xe0..=0xff => Item::Int(i64::from(marker as i8)),
            0xc1 => return Err("reserved msgpack marker 0xc1".to_owned()),
        };
        Ok(item)
    }

    /// The item of a marker with an 8, 16 or 32-bit length after it: bin, ext, str, array or map.
    fn sized(&mut self, marker: u8) -> Result<Item<'a>, String> {
        let length = match marker {
            0xc4 | 0xc7 | 0xd9 => usize::from(self.u8()?),
            0xc5 | 0xc8 | 0xda | 0xdc | 0xde => self.u16()?,
            _ => self.u32()?,
        };
        Ok(match marker {
            0xc4..=0xc6 => Item::Bin(self.take(length)?),
            0xc7..=0xc9 => self.ext(length)?,
            0xd9..=0xdb => Item::Str(self.take(length)?),
            0xdc | 0xdd => Item::Array(self.count(length, 1)?),
            _ => Item::Map(self.count(length, 2)?),
        })
    }

    fn ext(&mut self, length: usize) -> Result<Item<'a>, String> {
        let type_code = i8::from_be_bytes(self.take_array()?);
        Ok(Item::Ext(type_code, self.take(length)?))
    }

    /// Skips one complete item, including nested elements, iteratively (no recursion).
    pub(super) fn skip(&mut self) -> Result<(), String> {
        let mut pending: usize = 1;
        while pending > 0 {
            pending -= 1;
            match self.next()? {
                Item::Array(n) => pending = pending.saturating_add(n),
                Item::Map(n) => pending = pending.saturating_add(n.saturating_mul(2)),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Appends msgpack items to a buffer using the most compact forms, as cty's encoder does.
#[derive(Default)]
pub(super) struct Writer {
    pub(super) bytes: Vec<u8>,
}

impl Writer {
    pub(super) fn nil(&mut self) {
        self.bytes.push(0xc0);
    }

    pub(super) fn bool(&mut self, value: bool) {
        self.bytes.push(if value { 0xc3 } else { 0xc2 });
    }

    pub(super) fn int(&mut self, value: i64) {
        if value >= 0 {
            self.uint(value as u64);
        } else if value >= -32 {
            self.bytes.push(value as i8 as u8);
        } else {
            let (code, width) = match value {
                -0x80..=-1 => (0xd0, 1),
                -0x8000..=-0x81 => (0xd1, 2),
                -0x8000_0000..=-0x8001 => (0xd2, 4),
                _ => (0xd3, 8),
            };
            self.sized(code, value.to_be_bytes(), width);
        }
    }

    pub(super) fn uint(&mut self, value: u64) {
        if value < 0x80 {
            self.bytes.push(value as u8);
        } else {
            let (code, width) = match value {
                0x80..=0xff => (0xcc, 1),
                0x100..=0xffff => (0xcd, 2),
                0x1_0000..=0xffff_ffff => (0xce, 4),
                _ => (0xcf, 8),
            };
            self.sized(code, value.to_be_bytes(), width);
        }
    }

    /// Pushes `code` and then the last `width` of the big-endian `bytes`: every sized form is a
    /// wider number cut down to the width its code announces.
    fn sized(&mut self, code: u8, bytes: [u8; 8], width: usize) {
        self.bytes.push(code);
        self.bytes.extend(bytes.into_iter().skip(8 - width));
    }

    pub(super) fn float64(&mut self, value: f64) {
        self.bytes.push(0xcb);
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    /// Writes a header whose length picks one of a fixed/8/16/32-bit form.
    fn header(&mut self, length: usize, fixed: Option<(u8, usize)>, sized: [Option<u8>; 3]) -> Result<(), String> {
        if let Some((base, limit)) = fixed
            && length < limit
        {
            self.bytes.push(base | length as u8);
            return Ok(());
        }
        let too_long = || format!("length {length} exceeds msgpack limits");
        let wide = u64::try_from(length).map_err(|_| too_long())?;
        let form = sized
            .into_iter()
            .zip([1, 2, 4])
            .find_map(|(code, width)| code.filter(|_| wide < 1 << (8 * width)).map(|code| (code, width)));
        let (code, width) = form.ok_or_else(too_long)?;
        self.sized(code, wide.to_be_bytes(), width);
        Ok(())
    }

    pub(super) fn str(&mut self, text: &str) -> Result<(), String> {
        self.header(text.len(), Some((0xa0, 32)), [Some(0xd9), Some(0xda), Some(0xdb)])?;
        self.bytes.extend_from_slice(text.as_bytes());
        Ok(())
    }

    pub(super) fn bin(&mut self, data: &[u8]) -> Result<(), String> {
        self.header(data.len(), None, [Some(0xc4), Some(0xc5), Some(0xc6)])?;
        self.bytes.extend_from_slice(data);
        Ok(())
    }

    pub(super) fn array_header(&mut self, length: usize) -> Result<(), String> {
        self.header(length, Some((0x90, 16)), [None, Some(0xdc), Some(0xdd)])
    }

    pub(super) fn map_header(&mut self, length: usize) -> Result<(), String> {
        self.header(length, Some((0x80, 16)), [None, Some(0xde), Some(0xdf)])
    }

    pub(super) fn ext(&mut self, type_code: i8, payload: &[u8]) -> Result<(), String> {
        let fixed = match payload.len() {
            1 => Some(0xd4),
            2 => Some(0xd5),
            4 => Some(0xd6),
            8 => Some(0xd7),
            16 => Some(0xd8),
            _ => None,
        };
        match fixed {
            Some(code) => self.bytes.push(code),
            None => self.header(payload.len(), None, [Some(0xc7), Some(0xc8), Some(0xc9)])?,
        }
        self.bytes.push(type_code as u8);
        self.bytes.extend_from_slice(payload);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::default();
        f(&mut w);
        w.bytes
    }

    #[test]
    fn integers_use_the_smallest_form() {
        assert_eq!(written(|w| w.int(5)), [0x05]);
        assert_eq!(written(|w| w.int(-1)), [0xff]);
        assert_eq!(written(|w| w.int(-33)), [0xd0, 0xdf]);
        assert_eq!(written(|w| w.int(200)), [0xcc, 200]);
        assert_eq!(written(|w| w.int(65536)), [0xce, 0, 1, 0, 0]);
        assert_eq!(written(|w| w.int(i64::MIN)), [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn headers_and_extensions() {
        assert_eq!(written(|w| w.str("hi").unwrap()), [0xa2, b'h', b'i']);
        assert_eq!(written(|w| w.str(&"x".repeat(40)).unwrap())[..2], [0xd9, 40]);
        assert_eq!(written(|w| w.array_header(20).unwrap()), [0xdc, 0, 20]);
        assert_eq!(written(|w| w.ext(0, &[0]).unwrap()), [0xd4, 0, 0]);
        assert_eq!(written(|w| w.ext(12, &[1, 2, 3]).unwrap()), [0xc7, 3, 12, 1, 2, 3]);
    }

    #[test]
    fn every_sized_form_switches_at_its_limit_and_reads_back() {
        let ints: [(i64, u8); 10] = [
            (-33, 0xd0),
            (-128, 0xd0),
            (-129, 0xd1),
            (-32768, 0xd1),
            (-32769, 0xd2),
            (i64::from(i32::MIN), 0xd2),
            (i64::from(i32::MIN) - 1, 0xd3),
            (255, 0xcc),
            (65535, 0xcd),
            (i64::from(u32::MAX) + 1, 0xcf),
        ];
        for (value, code) in ints {
            let bytes = written(|w| w.int(value));
            assert_eq!(bytes[0], code, "{value}");
            let read = match Reader::new(&bytes).next().unwrap() {
                Item::Int(n) => n,
                Item::Uint(n) => i64::try_from(n).unwrap(),
                other => panic!("{other:?}"),
            };
            assert_eq!(read, value);
        }
        let lengths: [(usize, [u8; 3]); 3] =
            [(255, [0xd9, 0xc4, 0xc7]), (256, [0xda, 0xc5, 0xc8]), (65536, [0xdb, 0xc6, 0xc9])];
        for (length, [str_code, bin_code, ext_code]) in lengths {
            let text = "x".repeat(length);
            let bytes = written(|w| w.str(&text).unwrap());
            assert_eq!((bytes[0], Reader::new(&bytes).next()), (str_code, Ok(Item::Str(text.as_bytes()))));
            let bytes = written(|w| w.bin(text.as_bytes()).unwrap());
            assert_eq!((bytes[0], Reader::new(&bytes).next()), (bin_code, Ok(Item::Bin(text.as_bytes()))));
            let bytes = written(|w| w.ext(5, text.as_bytes()).unwrap());
            assert_eq!((bytes[0], Reader::new(&bytes).next()), (ext_code, Ok(Item::Ext(5, text.as_bytes()))));
        }
        let headers = [(15, 0x9f, 0x8f), (16, 0xdc, 0xde), (65536, 0xdd, 0xdf)];
        for (length, array_code, map_code) in headers {
            let padding = vec![0u8; 2 * length];
            let mut bytes = written(|w| w.array_header(length).unwrap());
            assert_eq!(bytes[0], array_code);
            bytes.extend(&padding);
            assert_eq!(Reader::new(&bytes).next(), Ok(Item::Array(length)));
            let mut bytes = written(|w| w.map_header(length).unwrap());
            assert_eq!(bytes[0], map_code);
            bytes.extend(&padding);
            assert_eq!(Reader::new(&bytes).next(), Ok(Item::Map(length)));
        }
    }

    #[test]
    fn reader_round_trips_writer_and_checks_lengths() {
        let bytes = written(|w| {
            w.int(-1000);
            w.uint(u64::MAX);
            w.float64(1.5);
            w.map_header(17).unwrap();
        });
        let mut r = Reader::new(&bytes);
        assert_eq!(r.next(), Ok(Item::Int(-1000)));
        assert_eq!(r.next(), Ok(Item::Uint(u64::MAX)));
        assert_eq!(r.next(), Ok(Item::Float64(1.5)));
        assert!(r.next().is_err(), "a 17-entry map cannot fit in 0 remaining bytes");
        assert!(Reader::new(&[0xdb, 0xff, 0xff, 0xff, 0xff]).next().is_err());
        assert!(Reader::new(&[0xc1]).next().is_err());
        assert!(Reader::new(&[]).next().is_err());
    }

    #[test]
    fn skip_handles_nesting() {
        let bytes = [0x92, 0x81, 0xa1, b'k', 0x91, 0x01, 0xc3, 0x07];
        let mut r = Reader::new(&bytes);
        r.skip().unwrap();
        assert_eq!(r.next(), Ok(Item::Int(7)));
    }
}
