//! IAM policy documents as typed values, with one canonical JSON rendering and a semantic comparison.
//!
//! Why typed values rather than strings: the documents this resource writes are reviewed by a
//! customer's security team and compared on every refresh with what IAM hands back. IAM returns
//! documents URL-encoded, may reorder keys, and treats `"Action": "x"` and `"Action": ["x"]` as the
//! same thing. If we compared text, every refresh would report drift; if we rendered text by hand,
//! whitespace or key order would leak into plans. So a document is parsed into [`PolicyDocument`],
//! whose sets are ordered and deduplicated, and both rendering ([`PolicyDocument::to_canonical_json`])
//! and comparison ([`PolicyDocument::semantically_equal`]) work on that normal form.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value as Json};

/// The only policy language version IAM still accepts for new documents.
pub const POLICY_VERSION: &str = "2012-10-17";

/// A whole policy document: a version and an ordered list of statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    /// The `Version` element: [`POLICY_VERSION`] in documents we build; `2008-10-17` when a parsed
    /// document has none.
    pub version: String,
    /// The `Statement` list, rendered in this order (which [`PolicyDocument::semantically_equal`]
    /// ignores).
    pub statements: Vec<Statement>,
}

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    /// The statement grants what it covers.
    Allow,
    /// The statement refuses what it covers, whatever any other statement allows.
    Deny,
}

/// Which actions a statement covers: listed ones, or all but the listed ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Actions {
    /// `Action`: these actions (patterns such as `ec2:Describe*` included).
    Action(BTreeSet<String>),
    /// `NotAction`: every action except these.
    NotAction(BTreeSet<String>),
}

/// Which resources a statement covers: listed ones, or all but the listed ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resources {
    /// `Resource`: these resource ARNs (or ARN patterns).
    Resource(BTreeSet<String>),
    /// `NotResource`: every resource except these.
    NotResource(BTreeSet<String>),
}

/// The principal of a resource-based policy (here: a role's trust policy).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Principal {
    /// `"Principal": "*"`.
    Anyone,
    /// `"Principal": {"AWS": [...], "Service": [...], ...}`: principal type → identifiers.
    Typed(BTreeMap<String, BTreeSet<String>>),
}

/// Condition block: operator (e.g. `StringEquals`) → context key → accepted values.
pub type Conditions = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// One statement. Field names follow the policy grammar.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Statement {
    /// `Sid`: the statement's label; optional in the grammar, always set by our builders.
    pub sid: Option<String>,
    /// `Effect`: whether the statement allows or denies.
    pub effect: Effect,
    /// `Principal`: who the statement is about; only resource-based (trust) policies have one.
    pub principal: Option<Principal>,
    /// `Action` or `NotAction`: the actions covered.
    pub actions: Actions,
    /// `None` only in trust policies, whose resource is implicitly the role.
    pub resources: Option<Resources>,
    /// `Condition`: all must hold for the statement to apply; empty when it always applies.
    pub conditions: Conditions,
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(String);

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid policy document: {}", self.0)
    }
}

impl std::error::Error for PolicyError {}

fn invalid(message: impl Into<String>) -> PolicyError {
    PolicyError(message.into())
}

/// Anything iterable over strings, as the builders take actions, resources and condition values.
pub trait Strings: IntoIterator<Item: Into<String>> {}

impl<I: IntoIterator<Item: Into<String>>> Strings for I {}

/// A set of strings from anything iterable (the builders' convenience).
pub fn set(items: impl Strings) -> BTreeSet<String> {
    items.into_iter().map(Into::into).collect()
}

impl Statement {
    /// A statement with the given effect over `actions` on `resources`, without conditions.
    pub fn new(sid: &str, effect: Effect, actions: impl Strings, resources: impl Strings) -> Self {
        Statement {
            sid: Some(sid.to_owned()),
            effect,
            principal: None,
            actions: Actions::Action(set(actions)),
            resources: Some(Resources::Resource(set(resources))),
            conditions: Conditions::new(),
        }
    }

    /// Allow `actions` on `resources`.
    pub fn allow(sid: &str, actions: impl Strings, resources: impl Strings) -> Self {
        Self::new(sid, Effect::Allow, actions, resources)
    }

    /// Deny `actions` on `resources`.
    pub fn deny(sid: &str, actions: impl Strings, resources: impl Strings) -> Self {
        Self::new(sid, Effect::Deny, actions, resources)
    }

    /// Adds a condition `operator` on `key` accepting any of `values`.
    #[must_use]
    pub fn when(mut self, operator: &str, key: &str, values: impl Strings) -> Self {
        self.conditions
            .entry(operator.to_owned())
            .or_default()
            .entry(key.to_owned())
            .or_default()
            .extend(values.into_iter().map(Into::into));
        self
    }

    /// Sets the statement's principal (trust policies).
    #[must_use]
    pub fn with_principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    /// Turns `Resource` into `NotResource`: the statement then covers every resource but those.
    #[must_use]
    pub fn on_all_resources_except_these(mut self) -> Self {
        if let Some(Resources::Resource(listed)) = self.resources.take() {
            self.resources = Some(Resources::NotResource(listed));
        }
        self
    }

    /// Drops the resource element (trust policies have none).
    #[must_use]
    pub fn without_resources(mut self) -> Self {
        self.resources = None;
        self
    }

    fn to_json(&self) -> Json {
        let mut object = Map::new();
        if let Some(sid) = &self.sid {
            object.insert("Sid".into(), Json::String(sid.clone()));
        }
        let effect = match self.effect {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        };
        object.insert("Effect".into(), Json::String(effect.into()));
        match &self.principal {
            None => {}
            Some(Principal::Anyone) => {
                object.insert("Principal".into(), Json::String("*".into()));
            }
            Some(Principal::Typed(map)) => {
                let inner = map.iter().map(|(k, v)| (k.clone(), string_or_array(v))).collect();
                object.insert("Principal".into(), Json::Object(inner));
            }
        }
        let (key, actions) = match &self.actions {
            Actions::Action(a) => ("Action", a),
            Actions::NotAction(a) => ("NotAction", a),
        };
        object.insert(key.into(), string_or_array(actions));
        if let Some(resources) = &self.resources {
            let (key, list) = match resources {
                Resources::Resource(r) => ("Resource", r),
                Resources::NotResource(r) => ("NotResource", r),
            };
            object.insert(key.into(), string_or_array(list));
        }
        if !self.conditions.is_empty() {
            let block = self
                .conditions
                .iter()
                .map(|(operator, keys)| {
                    let keys = keys.iter().map(|(k, v)| (k.clone(), string_or_array(v))).collect();
                    (operator.clone(), Json::Object(keys))
                })
                .collect();
            object.insert("Condition".into(), Json::Object(block));
        }
        Json::Object(object)
    }

    fn from_json(value: &Json, index: usize) -> Result<Self, PolicyError> {
        let object = value.as_object().ok_or_else(|| invalid(format!("statement {index} is not an object")))?;
        for key in object.keys() {
            if !matches!(
                key.as_str(),
                "Sid" | "Effect" | "Principal" | "Action" | "NotAction" | "Resource" | "NotResource" | "Condition"
            ) {
                return Err(invalid(format!("statement {index} has unsupported element {key:?}")));
            }
        }
        let sid = match object.get("Sid") {
            None => None,
            Some(Json::String(s)) => Some(s.clone()),
            Some(_) => return Err(invalid(format!("statement {index}: Sid must be a string"))),
        };
        let effect = match object.get("Effect").and_then(Json::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            _ => return Err(invalid(format!("statement {index}: Effect must be Allow or Deny"))),
        };
        let principal = object.get("Principal").map(|p| parse_principal(p, index)).transpose()?;
        let actions = match (object.get("Action"), object.get("NotAction")) {
            (Some(a), None) => Actions::Action(string_set(a, "Action", index)?),
            (None, Some(a)) => Actions::NotAction(string_set(a, "NotAction", index)?),
            _ => return Err(invalid(format!("statement {index} needs exactly one of Action, NotAction"))),
        };
        let resources = match (object.get("Resource"), object.get("NotResource")) {
            (Some(r), None) => Some(Resources::Resource(string_set(r, "Resource", index)?)),
            (None, Some(r)) => Some(Resources::NotResource(string_set(r, "NotResource", index)?)),
            (None, None) => None,
            _ => return Err(invalid(format!("statement {index} has both Resource and NotResource"))),
        };
        let conditions = match object.get("Condition") {
            None => Conditions::new(),
            Some(c) => parse_conditions(c, index)?,
        };
        Ok(Statement { sid, effect, principal, actions, resources, conditions })
    }
}

/// One element renders as a bare string, more as an array: the same choice every time, so two
/// renderings of equal documents are byte-identical.
fn string_or_array(items: &BTreeSet<String>) -> Json {
    match items.len() {
        1 => items.iter().next().map_or(Json::Null, |s| Json::String(s.clone())),
        _ => Json::Array(items.iter().cloned().map(Json::String).collect()),
    }
}

/// A scalar or an array of scalars, as a set of strings. Condition values may arrive as JSON
/// booleans or numbers (`"Bool": {"aws:SecureTransport": false}`); IAM treats them as their text.
fn string_set(value: &Json, element: &str, index: usize) -> Result<BTreeSet<String>, PolicyError> {
    let scalar = |v: &Json| match v {
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let bad = || invalid(format!("statement {index}: {element} must be a string or a list of strings"));
    match value {
        Json::Array(items) => items.iter().map(|v| scalar(v).ok_or_else(bad)).collect(),
        other => scalar(other).map(|s| BTreeSet::from([s])).ok_or_else(bad),
    }
}

fn parse_principal(value: &Json, index: usize) -> Result<Principal, PolicyError> {
    match value {
        Json::String(s) if s == "*" => Ok(Principal::Anyone),
        Json::Object(map) => map
            .iter()
            .map(|(kind, ids)| Ok((kind.clone(), string_set(ids, "Principal", index)?)))
            .collect::<Result<_, _>>()
            .map(Principal::Typed),
        _ => Err(invalid(format!("statement {index}: Principal must be \"*\" or an object"))),
    }
}

fn parse_conditions(value: &Json, index: usize) -> Result<Conditions, PolicyError> {
    let bad = || invalid(format!("statement {index}: Condition must map operators to key/value objects"));
    let operators = value.as_object().ok_or_else(bad)?;
    let mut conditions = Conditions::new();
    for (operator, keys) in operators {
        let keys = keys.as_object().ok_or_else(bad)?;
        let entry = conditions.entry(operator.clone()).or_default();
        for (key, values) in keys {
            entry.insert(key.clone(), string_set(values, "Condition value", index)?);
        }
    }
    Ok(conditions)
}

impl PolicyDocument {
    /// A document of the current language version holding `statements`.
    pub fn new(statements: Vec<Statement>) -> Self {
        PolicyDocument { version: POLICY_VERSION.to_owned(), statements }
    }

    /// The one rendering this provider ever writes: keys in a fixed order, sets sorted and
    /// deduplicated, single elements as bare strings, no whitespace.
    pub fn to_canonical_json(&self) -> String {
        let mut object = Map::new();
        object.insert("Version".into(), Json::String(self.version.clone()));
        let statements = self.statements.iter().map(Statement::to_json).collect();
        object.insert("Statement".into(), Json::Array(statements));
        Json::Object(object).to_string()
    }

    /// Parses a document as written by a person or returned by IAM: plain JSON, or JSON that IAM
    /// URL-encoded (GetPolicyVersion, GetRole's AssumeRolePolicyDocument).
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let trimmed = text.trim();
        if trimmed.starts_with('{') {
            return Self::parse_json(trimmed);
        }
        let decoded = percent_decode(trimmed)?;
        match Self::parse_json(&decoded) {
            Ok(document) => Ok(document),
            // Form encoding writes spaces as '+'; literal '+' would have been sent as %2B.
            Err(first) => Self::parse_json(&percent_decode(&trimmed.replace('+', "%20"))?).map_err(|_| first),
        }
    }

    fn parse_json(text: &str) -> Result<Self, PolicyError> {
        let json: Json = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let object = json.as_object().ok_or_else(|| invalid("the document is not a JSON object"))?;
        for key in object.keys() {
            if !matches!(key.as_str(), "Version" | "Statement" | "Id") {
                return Err(invalid(format!("unsupported top-level element {key:?}")));
            }
        }
        let version = match object.get("Version") {
            Some(Json::String(v)) => v.clone(),
            None => "2008-10-17".to_owned(),
            Some(_) => return Err(invalid("Version must be a string")),
        };
        let statements = match object.get("Statement") {
            Some(Json::Array(items)) => {
                items.iter().enumerate().map(|(i, s)| Statement::from_json(s, i)).collect::<Result<_, _>>()?
            }
            Some(single @ Json::Object(_)) => vec![Statement::from_json(single, 0)?],
            _ => return Err(invalid("Statement must be an object or a list of objects")),
        };
        Ok(PolicyDocument { version, statements })
    }

    /// Whether two documents grant and deny the same things, ignoring what IAM ignores: key order,
    /// statement order, duplicate list elements, and bare strings versus one-element lists.
    pub fn semantically_equal(&self, other: &PolicyDocument) -> bool {
        let sorted = |d: &PolicyDocument| {
            let mut statements = d.statements.clone();
            statements.sort();
            statements.dedup();
            statements
        };
        self.version == other.version && sorted(self) == sorted(other)
    }

    /// Character count IAM charges against a policy size quota: every character except whitespace.
    pub fn quota_size(&self) -> usize {
        self.to_canonical_json().chars().filter(|c| !c.is_whitespace()).count()
    }
}

/// Compares a document we render with text read back from IAM; unreadable text is a difference.
pub fn same_policy(ours: &PolicyDocument, theirs: &str) -> bool {
    PolicyDocument::parse(theirs).is_ok_and(|doc| ours.semantically_equal(&doc))
}

/// Percent-decoding (IAM returns documents URL-encoded) into UTF-8. Malformed escapes are kept as
/// they are, as RFC 3986 decoders do; the JSON parse after this then refuses the text.
fn percent_decode(text: &str) -> Result<String, PolicyError> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| invalid("percent-decoded text is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PolicyDocument {
        PolicyDocument::new(vec![
            Statement::allow("Read", ["s3:GetObject", "s3:ListBucket", "s3:GetObject"], ["*"]),
            Statement::deny("NoSecrets", ["secretsmanager:GetSecretValue"], ["*"]).when(
                "StringNotEquals",
                "aws:PrincipalAccount",
                ["111122223333"],
            ),
        ])
    }

    #[test]
    fn canonical_rendering_is_compact_ordered_and_deduplicated() {
        assert_eq!(
            sample().to_canonical_json(),
            concat!(
                r#"{"Version":"2012-10-17","Statement":["#,
                r#"{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"},"#,
                r#"{"Sid":"NoSecrets","Effect":"Deny","Action":"secretsmanager:GetSecretValue","Resource":"*","#,
                r#""Condition":{"StringNotEquals":{"aws:PrincipalAccount":"111122223333"}}}]}"#
            )
        );
    }

    #[test]
    fn rendering_round_trips_through_parse() {
        let doc = sample();
        let parsed = PolicyDocument::parse(&doc.to_canonical_json()).expect("parses");
        assert_eq!(parsed, doc);
        assert_eq!(parsed.to_canonical_json(), doc.to_canonical_json());
    }

    #[test]
    fn reordered_keys_statements_and_arrays_compare_equal() {
        let aws_form = r#"{
          "Statement": [
            {"Condition": {"StringNotEquals": {"aws:PrincipalAccount": ["111122223333"]}},
             "Resource": ["*"], "Action": ["secretsmanager:GetSecretValue"], "Effect": "Deny", "Sid": "NoSecrets"},
            {"Sid": "Read", "Effect": "Allow", "Resource": "*", "Action": ["s3:ListBucket", "s3:GetObject"]}
          ],
          "Version": "2012-10-17"
        }"#;
        let theirs = PolicyDocument::parse(aws_form).expect("parses");
        assert!(sample().semantically_equal(&theirs));
        assert!(same_policy(&sample(), aws_form));
    }

    #[test]
    fn url_encoded_documents_from_iam_are_decoded() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22sts%3AAssumeRole%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fops%2Bteam%22%7D%7D%7D";
        let doc = PolicyDocument::parse(encoded).expect("parses");
        let expected = PolicyDocument::new(vec![Statement {
            sid: None,
            effect: Effect::Allow,
            principal: Some(Principal::Typed(BTreeMap::from([(
                "AWS".to_owned(),
                set(["arn:aws:iam::111122223333:role/ops+team"]),
            )]))),
            actions: Actions::Action(set(["sts:AssumeRole"])),
            resources: None,
            conditions: Conditions::new(),
        }]);
        assert_eq!(doc, expected);
    }

    #[test]
    fn form_encoded_spaces_are_accepted() {
        let encoded = "%7B%22Version%22%3A+%222012-10-17%22%2C+%22Statement%22%3A+%5B%5D%7D";
        let doc = PolicyDocument::parse(encoded).expect("parses");
        assert!(doc.statements.is_empty());
    }

    #[test]
    fn condition_booleans_and_numbers_read_as_text() {
        let doc = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*",
               "Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"s3:TlsVersion":1.2}}}]}"#,
        )
        .expect("parses");
        let ours = PolicyDocument::new(vec![
            Statement::deny("x", ["*"], ["*"]).when("Bool", "aws:SecureTransport", ["false"]).when(
                "NumericLessThan",
                "s3:TlsVersion",
                ["1.2"],
            ),
        ]);
        let mut without_sid = ours.clone();
        if let Some(s) = without_sid.statements.first_mut() {
            s.sid = None;
        }
        assert!(doc.semantically_equal(&without_sid));
        assert!(!doc.semantically_equal(&ours), "a different Sid is a different document");
    }

    #[test]
    fn real_differences_are_detected() {
        let mut widened = sample();
        widened.statements.push(Statement::allow("More", ["iam:*"], ["*"]));
        assert!(!sample().semantically_equal(&widened));

        let mut flipped = sample();
        if let Some(s) = flipped.statements.get_mut(1) {
            s.effect = Effect::Allow;
        }
        assert!(!sample().semantically_equal(&flipped));

        let mut changed_condition = sample();
        if let Some(s) = changed_condition.statements.get_mut(1) {
            s.conditions.clear();
        }
        assert!(!sample().semantically_equal(&changed_condition));
        assert!(!same_policy(&sample(), "not a policy"));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for text in [
            "",
            "%",
            "%7",
            "%zz",
            "%FF%FE",
            "[]",
            "{}",
            r#"{"Statement":"x"}"#,
            r#"{"Statement":[1]}"#,
            r#"{"Statement":[{"Effect":"Maybe","Action":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":[{}]}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"StringEquals":"x"}}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Principal":7}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Surprise":1}]}"#,
        ] {
            assert!(PolicyDocument::parse(text).is_err(), "{text:?} should not parse");
        }
    }

    #[test]
    fn not_resource_statements_render_and_parse() {
        let doc = PolicyDocument::new(vec![
            Statement::deny("OnlyOurs", ["iam:PassRole"], ["arn:aws:iam::1:role/a-*"]).on_all_resources_except_these(),
        ]);
        let json = doc.to_canonical_json();
        assert!(json.contains(r#""NotResource":"arn:aws:iam::1:role/a-*""#), "{json}");
        assert_eq!(PolicyDocument::parse(&json).expect("parses"), doc);
    }

    #[test]
    fn quota_size_ignores_nothing_because_canonical_form_has_no_whitespace() {
        let doc = sample();
        assert_eq!(doc.quota_size(), doc.to_canonical_json().len());
    }
}
