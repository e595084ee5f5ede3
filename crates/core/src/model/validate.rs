//! Collects every validation problem of a configuration at once, each named by its field path.

use std::fmt;

/// One violated rule: where, which Cognito exception it maps to, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Field path such as `Clients[0].CallbackURLs[1]`.
    pub path: String,
    /// Cognito exception name (`InvalidParameterException`, `InvalidOAuthFlowException`, …).
    pub kind: &'static str,
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.kind)
    }
}

/// An accumulator of problems under a path prefix.
#[derive(Debug, Default)]
pub struct Problems {
    prefix: String,
    pub errors: Vec<ValidationError>,
}

impl Problems {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            errors: Vec::new(),
        }
    }

    fn join(&self, field: &str) -> String {
        match (self.prefix.is_empty(), field.is_empty()) {
            (true, _) => field.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) if field.starts_with('[') => format!("{}{field}", self.prefix),
            (false, false) => format!("{}.{field}", self.prefix),
        }
    }

    /// Runs `f` with problems recorded under `prefix.field`.
    pub fn within(&mut self, field: &str, f: impl FnOnce(&mut Problems)) {
        let mut inner = Problems::new(self.join(field));
        f(&mut inner);
        self.errors.append(&mut inner.errors);
    }

    pub fn add_kind(&mut self, field: &str, kind: &'static str, message: impl Into<String>) {
        self.errors.push(ValidationError {
            path: self.join(field),
            kind,
            message: message.into(),
        });
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.add_kind(field, "InvalidParameterException", message);
    }

    pub fn check(&mut self, ok: bool, field: &str, message: impl Into<String>) {
        if !ok {
            self.add(field, message);
        }
    }

    /// Length in characters within `min..=max`.
    pub fn length(&mut self, field: &str, value: &str, min: usize, max: usize) {
        let n = value.chars().count();
        self.check(
            (min..=max).contains(&n),
            field,
            format!("length must be between {min} and {max} characters, is {n}"),
        );
    }

    pub fn range(&mut self, field: &str, value: i64, min: i64, max: i64) {
        self.check(
            (min..=max).contains(&value),
            field,
            format!("must be between {min} and {max}, is {value}"),
        );
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

/// `[\w\s+=,.@-]+`: the pattern of pool, client and resource-server names.
pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c.is_whitespace() || "+=,.@-".contains(c))
}

/// Printable, no whitespace: `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`.
pub(crate) fn is_printable_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| !c.is_whitespace() && !c.is_control())
}
