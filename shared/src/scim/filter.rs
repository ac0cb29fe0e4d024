//! SCIM filter expressions (RFC 7644 §3.4.2.2): parsing into a tree, and
//! evaluating a tree against a resource in its SCIM JSON form.
//!
//! Hand-written rather than taken from a SCIM crate: the one with a complete
//! grammar (`scim_v2`) lexes through `lalrpop-util`, which compiles regular
//! expressions at run time, and that compiler would ship in the Worker.
//!
//! Input is bounded before anything is built ([`MAX_FILTER_CHARS`],
//! [`MAX_DEPTH`]), so a hostile `?filter=` can neither exhaust the stack
//! while parsing nor when the tree is dropped.

use serde_json::Value;

/// Longer filters are refused: no IdP sends one near this.
pub const MAX_FILTER_CHARS: usize = 4096;
/// Nesting of `and`/`or`/`not`/parentheses/brackets.
pub const MAX_DEPTH: usize = 64;

/// Why a filter was refused: the SCIM `invalidFilter` error's detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(message.into()))
}

/// `[URI ":"] ATTRNAME *1subAttr` (RFC 7644 §3.4.2.2, §3.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// A schema URN (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`).
    pub uri: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses `name`, `name.sub` or `urn:...:name.sub`.
    pub fn parse(text: &str) -> Result<AttrPath, FilterError> {
        // The URN ends at the last colon; its own segments (`2.0`) may hold
        // dots, the attribute part may hold one.
        let (uri, rest) = match text.rsplit_once(':') {
            Some((uri, rest)) if uri.to_ascii_lowercase().starts_with("urn:") => (Some(uri.to_string()), rest),
            Some(_) => return fail(format!("\"{}\" is not an attribute path", shorten(text))),
            None => (None, text),
        };
        let mut parts = rest.split('.');
        let name = parts.next().unwrap_or_default();
        let sub = parts.next();
        if parts.next().is_some() {
            return fail(format!("\"{}\" has more than one sub-attribute", shorten(text)));
        }
        for part in std::iter::once(name).chain(sub) {
            if !is_attr_name(part) {
                return fail(format!("\"{}\" is not an attribute path", shorten(text)));
            }
        }
        Ok(AttrPath { uri, name: name.to_string(), sub: sub.map(str::to_string) })
    }

    /// The same path with `sub` as its sub-attribute.
    pub fn with_sub(&self, sub: &str) -> AttrPath {
        AttrPath { uri: self.uri.clone(), name: self.name.clone(), sub: Some(sub.to_string()) }
    }
}

impl std::fmt::Display for AttrPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// `ATTRNAME = ALPHA *(nameChar)`; RFC 7643 §2.1 also names `$ref`.
fn is_attr_name(s: &str) -> bool {
    let body = s.strip_prefix('$').unwrap_or(s);
    let mut chars = body.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<CompareOp> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attr pr`: present and not empty.
    Present(AttrPath),
    /// `attr op value`, the value a JSON string, number, boolean or null.
    Compare(AttrPath, CompareOp, Value),
    /// `emails[type eq "work" and value co "@example.com"]`: one element of
    /// the multi-valued attribute matches the inner filter, whose paths are
    /// the element's sub-attributes.
    Complex(AttrPath, Box<Filter>),
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

impl Filter {
    /// Parses a filter (the `filter` query parameter or a PATCH path's
    /// value filter).
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let mut p = Parser::new(text)?;
        let f = p.or(false)?;
        match p.peek() {
            None => Ok(f),
            Some(t) => fail(format!("unexpected {} after a complete filter", t.describe())),
        }
    }

    /// Whether `resource` (SCIM JSON) matches. `case_exact` says whether an
    /// attribute's strings compare case-sensitively (RFC 7643 §2.2
    /// `caseExact`); attribute names never do (§2.1).
    pub fn matches(&self, resource: &Value, case_exact: &dyn Fn(&AttrPath) -> bool) -> bool {
        match self {
            Filter::Not(f) => !f.matches(resource, case_exact),
            Filter::And(a, b) => a.matches(resource, case_exact) && b.matches(resource, case_exact),
            Filter::Or(a, b) => a.matches(resource, case_exact) || b.matches(resource, case_exact),
            Filter::Present(path) => values_at(resource, path).iter().any(|v| !is_empty(v)),
            Filter::Compare(path, op, value) => {
                let exact = case_exact(path);
                let found = values_at(resource, path);
                match op {
                    // `ne` is the negation of `eq`: an absent attribute is
                    // "not equal" to anything.
                    CompareOp::Ne => !found.iter().any(|v| compare(v, CompareOp::Eq, value, exact)),
                    _ => found.iter().any(|v| compare(v, *op, value, exact)),
                }
            }
            Filter::Complex(path, inner) => {
                let parent = AttrPath { uri: path.uri.clone(), name: path.name.clone(), sub: None };
                elements_at(resource, &parent).iter().any(|element| {
                    let relative = |p: &AttrPath| case_exact(&path.with_sub(&p.name));
                    inner.matches(element, &relative)
                })
            }
        }
    }
}

/// An attribute's value is empty when it is null, "", [] or {} (RFC 7644
/// §3.4.2.2, `pr`).
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.iter().all(is_empty),
        Value::Object(o) => o.values().all(is_empty),
        _ => false,
    }
}

/// A member of `object` by name, ignoring case (RFC 7643 §2.1).
pub fn member<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// Where a path's attribute lives: in an extension's object when the path
/// names an extension schema, else at the top.
fn container<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    match &path.uri {
        Some(uri) => member(resource, uri).or_else(|| {
            // The core schema's URN may prefix its own attributes.
            let core = resource.get("schemas")?.as_array()?.first()?.as_str()?;
            core.eq_ignore_ascii_case(uri).then_some(resource)
        }),
        None => Some(resource),
    }
}

/// The elements of a (multi-valued) attribute; a single value counts as one.
fn elements_at<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    match container(resource, path).and_then(|c| member(c, &path.name)) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
        None => Vec::new(),
    }
}

/// The values a path reaches. A complex multi-valued attribute compared
/// without a sub-attribute compares its elements' `value` (RFC 7644
/// §3.4.2.2: `emails co "example.com"`).
fn values_at<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let parent = AttrPath { uri: path.uri.clone(), name: path.name.clone(), sub: None };
    let mut out = Vec::new();
    for element in elements_at(resource, &parent) {
        match (&path.sub, element) {
            (Some(sub), Value::Object(_)) => out.extend(member(element, sub)),
            (Some(_), _) => {}
            (None, Value::Object(_)) if member(element, "value").is_some() => out.extend(member(element, "value")),
            (None, v) => out.push(v),
        }
    }
    out.into_iter()
        .flat_map(|v| match v {
            Value::Array(items) => items.iter().collect::<Vec<_>>(),
            v => vec![v],
        })
        .collect()
}

/// One comparison, by the rules of RFC 7644 §3.4.2.2: strings by the
/// attribute's case rule (dateTimes are ISO 8601 strings of one format here,
/// so they order as strings), numbers as numbers, booleans for `eq` only.
fn compare(found: &Value, op: CompareOp, wanted: &Value, case_exact: bool) -> bool {
    use std::cmp::Ordering;
    let ordering = match (found, wanted) {
        (Value::String(a), Value::String(b)) => {
            let (a, b) = if case_exact { (a.clone(), b.clone()) } else { (a.to_lowercase(), b.to_lowercase()) };
            match op {
                CompareOp::Co => return a.contains(&b),
                CompareOp::Sw => return a.starts_with(&b),
                CompareOp::Ew => return a.ends_with(&b),
                _ => a.cmp(&b),
            }
        }
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => match a.partial_cmp(&b) {
                Some(o) => o,
                None => return false,
            },
            _ => return false,
        },
        (Value::Bool(a), Value::Bool(b)) if op == CompareOp::Eq => return a == b,
        (Value::Null, Value::Null) if op == CompareOp::Eq => return true,
        _ => return false,
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        // Substring operators on non-strings, and `ne` (handled above).
        _ => false,
    }
}

/// A filter's tokens.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    /// A JSON string, decoded.
    Str(String),
    /// Anything else between delimiters: attribute paths, operators,
    /// keywords, numbers, `true`/`false`/`null`.
    Word(String),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Open => "\"(\"".into(),
            Token::Close => "\")\"".into(),
            Token::OpenBracket => "\"[\"".into(),
            Token::CloseBracket => "\"]\"".into(),
            Token::Str(s) => format!("the string \"{}\"", shorten(s)),
            Token::Word(w) => format!("\"{}\"", shorten(w)),
        }
    }

    fn is_word(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

/// At most 40 characters of user input in a message.
fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                // Find the closing quote, skipping escaped characters, and let
                // serde_json decode the literal (RFC 7644 strings are JSON's).
                chars.next();
                let mut end = None;
                while let Some((j, d)) = chars.next() {
                    match d {
                        '\\' => {
                            chars.next();
                        }
                        '"' => {
                            end = Some(j);
                            break;
                        }
                        _ => {}
                    }
                }
                let Some(end) = end else { return fail("a string is not closed") };
                match serde_json::from_str::<String>(&text[i..=end]) {
                    Ok(s) => tokens.push(Token::Str(s)),
                    Err(_) => return fail("a string has a malformed escape or a raw control character"),
                }
            }
            _ => {
                let start = i;
                let mut end = text.len();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_whitespace() || matches!(d, '(' | ')' | '[' | ']' | '"') {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                tokens.push(Token::Word(text[start..end].to_string()));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn new(text: &str) -> Result<Parser, FilterError> {
        if text.len() > MAX_FILTER_CHARS {
            return fail(format!("a filter may have at most {MAX_FILTER_CHARS} characters"));
        }
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return fail("the filter is empty");
        }
        Ok(Parser { tokens, at: 0, depth: 0 })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn advance(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expect(&mut self, want: Token, context: &str) -> Result<(), FilterError> {
        match self.advance() {
            Some(t) if t == want => Ok(()),
            Some(t) => fail(format!("expected {} {context}, found {}", want.describe(), t.describe())),
            None => fail(format!("expected {} {context}, found the end", want.describe())),
        }
    }

    /// Enters one level of nesting (a combinator's operand or a group).
    fn deeper(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return fail(format!("a filter may nest at most {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    /// `or` binds loosest, then `and`, then `not` (RFC 7644 §3.4.2.2,
    /// Table 5's precedence). `in_brackets`: inside a value filter, where
    /// another `[` is not allowed.
    fn or(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let mut left = self.and(in_brackets)?;
        let entered = self.depth;
        while self.peek().is_some_and(|t| t.is_word("or")) {
            self.advance();
            self.deeper()?;
            let right = self.and(in_brackets)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        self.depth = entered;
        Ok(left)
    }

    fn and(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let mut left = self.unary(in_brackets)?;
        let entered = self.depth;
        while self.peek().is_some_and(|t| t.is_word("and")) {
            self.advance();
            self.deeper()?;
            let right = self.unary(in_brackets)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        self.depth = entered;
        Ok(left)
    }

    fn unary(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let entered = self.depth;
        let f = match self.peek() {
            Some(t) if t.is_word("not") => {
                self.advance();
                self.deeper()?;
                self.expect(Token::Open, "after \"not\"")?;
                let inner = self.or(in_brackets)?;
                self.expect(Token::Close, "to end the \"not\" group")?;
                Filter::Not(Box::new(inner))
            }
            Some(Token::Open) => {
                self.advance();
                self.deeper()?;
                let inner = self.or(in_brackets)?;
                self.expect(Token::Close, "to end the group")?;
                inner
            }
            _ => self.attr_exp(in_brackets)?,
        };
        self.depth = entered;
        Ok(f)
    }

    fn attr_exp(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let path = match self.advance() {
            Some(Token::Word(w)) => AttrPath::parse(&w)?,
            Some(t) => return fail(format!("expected an attribute path, found {}", t.describe())),
            None => return fail("expected an attribute path, found the end"),
        };
        if self.peek() == Some(&Token::OpenBracket) {
            if in_brackets {
                return fail("a value filter cannot hold another one");
            }
            if path.sub.is_some() {
                return fail(format!("\"{path}[...]\": a value filter follows the attribute, not a sub-attribute"));
            }
            self.advance();
            self.deeper()?;
            let inner = self.or(true)?;
            self.expect(Token::CloseBracket, "to end the value filter")?;
            self.depth -= 1;
            return Ok(Filter::Complex(path, Box::new(inner)));
        }
        let op = match self.advance() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("pr") => return Ok(Filter::Present(path)),
            Some(Token::Word(w)) => match CompareOp::parse(&w) {
                Some(op) => op,
                None => return fail(format!("\"{}\" is not a comparison operator", shorten(&w))),
            },
            Some(t) => return fail(format!("expected an operator after \"{path}\", found {}", t.describe())),
            None => return fail(format!("expected an operator after \"{path}\", found the end")),
        };
        let value = match self.advance() {
            Some(Token::Str(s)) => Value::String(s),
            Some(Token::Word(w)) => match w.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => match serde_json::from_str::<serde_json::Number>(&w) {
                    Ok(n) => Value::Number(n),
                    Err(_) => return fail(format!("\"{}\" is not a value: strings are in double quotes", shorten(&w))),
                },
            },
            Some(t) => {
                return fail(format!("expected a value after \"{path} {}\", found {}", op.as_str(), t.describe()))
            }
            None => return fail(format!("expected a value after \"{path} {}\", found the end", op.as_str())),
        };
        Ok(Filter::Compare(path, op, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Filter {
        Filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn path(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap()
    }

    fn cmp(a: &str, op: CompareOp, v: Value) -> Filter {
        Filter::Compare(path(a), op, v)
    }

    #[test]
    fn the_rfc_examples_parse() {
        // RFC 7644 §3.4.2.2's examples.
        for s in [
            r#"userName Eq "john""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            "title pr",
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        ] {
            p(s);
        }
    }

    #[test]
    fn and_binds_tighter_than_or_and_operators_ignore_case() {
        let f = p(r#"a pr OR b eq 1 AnD c eq true"#);
        assert_eq!(
            f,
            Filter::Or(
                Box::new(Filter::Present(path("a"))),
                Box::new(Filter::And(
                    Box::new(cmp("b", CompareOp::Eq, json!(1))),
                    Box::new(cmp("c", CompareOp::Eq, json!(true)))
                ))
            )
        );
        let f = p(r#"(a pr or b pr) and not (c eq null)"#);
        assert!(
            matches!(f, Filter::And(ref l, ref r) if matches!(**l, Filter::Or(..)) && matches!(**r, Filter::Not(..)))
        );
    }

    #[test]
    fn paths_with_schema_urns_and_sub_attributes() {
        let e = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        assert_eq!(e.uri.as_deref(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
        assert_eq!((e.name.as_str(), e.sub.as_deref()), ("manager", Some("value")));
        assert_eq!(path("members.$ref").sub.as_deref(), Some("$ref"));
        assert_eq!(e.to_string(), "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
    }

    #[test]
    fn malformed_filters_get_a_clear_message() {
        for (s, says) in [
            ("", "empty"),
            ("   ", "empty"),
            ("userName", "operator"),
            ("userName eq", "value"),
            ("userName eq john", "double quotes"),
            (r#"userName xx "a""#, "not a comparison operator"),
            (r#"userName eq "a" and"#, "attribute path"),
            (r#"(userName eq "a""#, "end the group"),
            (r#"userName eq "a")"#, "after a complete filter"),
            (r#"not userName eq "a""#, "after \"not\""),
            (r#"emails[type eq "work""#, "end the value filter"),
            (r#"emails[type[value eq "x"]]"#, "cannot hold another"),
            (r#"name.givenName.x eq "a""#, "more than one sub-attribute"),
            (r#"1abc eq "a""#, "not an attribute path"),
            (r#"userName eq "unterminated"#, "not closed"),
            (r#"userName eq "bad \q escape""#, "malformed escape"),
            (r#"http://x:userName eq "a""#, "not an attribute path"),
            (r#"emails.type[value eq "a"]"#, "sub-attribute"),
        ] {
            let e = Filter::parse(s).expect_err(s);
            assert!(e.0.contains(says), "{s:?}: {e}");
        }
        assert!(Filter::parse(&"a".repeat(MAX_FILTER_CHARS + 1)).unwrap_err().0.contains("at most"));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}a pr{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert!(Filter::parse(&deep).unwrap_err().0.contains("nest"));
        let chain = vec!["a pr"; MAX_DEPTH + 2].join(" and ");
        assert!(Filter::parse(&chain).unwrap_err().0.contains("nest"));
        let nots = format!("{}a pr{}", "not (".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert!(Filter::parse(&nots).unwrap_err().0.contains("nest"));
        // Within the limit, fine.
        let ok = format!("{}a pr{}", "(".repeat(MAX_DEPTH / 2), ")".repeat(MAX_DEPTH / 2));
        p(&ok);
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "usr_1",
            "userName": "Bjensen@Example.com",
            "name": { "givenName": "Barbara", "familyName": "Jensen" },
            "title": "",
            "active": true,
            "emails": [
                { "value": "bjensen@example.com", "type": "work", "primary": true },
                { "value": "babs@jensen.org", "type": "home" }
            ],
            "meta": { "lastModified": "2026-05-13T04:42:34Z" },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "employeeNumber": "701984", "manager": { "value": "usr_9" } }
        })
    }

    fn matches(s: &str) -> bool {
        // `id` is case-exact (RFC 7643 §3.1); the rest here are not.
        p(s).matches(&user(), &|a: &AttrPath| a.name == "id")
    }

    #[test]
    fn evaluation_follows_the_comparison_rules() {
        assert!(matches(r#"username eq "bjensen@example.com""#), "names and caseExact=false values ignore case");
        assert!(!matches(r#"id eq "USR_1""#), "caseExact values do not");
        assert!(matches(r#"id eq "usr_1""#));
        assert!(matches(r#"name.familyName sw "jen""#));
        assert!(matches(r#"userName ew "example.COM""#));
        assert!(matches(r#"emails co "jensen.org""#), "a multi-valued attribute compares its values");
        assert!(matches(r#"emails.type eq "home""#));
        assert!(matches(r#"emails[type eq "work" and value co "@example.com"]"#));
        assert!(!matches(r#"emails[type eq "home" and value co "@example.com"]"#), "one element must match it all");
        assert!(matches(r#"meta.lastModified gt "2026-01-01T00:00:00Z""#));
        assert!(!matches(r#"meta.lastModified lt "2026-01-01T00:00:00Z""#));
        assert!(matches("active eq true") && !matches("active eq false"));
        assert!(!matches("title pr"), "an empty string is not present");
        assert!(matches("name pr") && !matches("nickName pr"));
        assert!(matches(r#"nickName ne "x""#), "ne holds for an absent attribute");
        assert!(!matches(r#"userName ne "BJENSEN@example.com""#));
        assert!(matches(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#));
        assert!(matches(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "usr_9""#));
        assert!(matches(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj""#));
        assert!(matches(r#"not (userName eq "x") and (title pr or active eq true)"#));
        assert!(!matches(r#"active gt true"#), "booleans do not order");
        assert!(!matches(r#"userName gt 5"#), "a string and a number do not compare");
    }

    /// A small xorshift generator: the same cases on every run.
    struct Rng(u64);
    impl Rng {
        fn roll(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.roll() % items.len() as u64) as usize]
        }
    }

    #[test]
    fn no_input_makes_it_panic() {
        // Random sequences of the grammar's pieces and of stray characters:
        // each parses or is refused, and a parsed one evaluates.
        let pieces = [
            "userName",
            "emails",
            "name.givenName",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            " eq ",
            " ne ",
            " co ",
            " pr",
            " gt ",
            " and ",
            " or ",
            "not ",
            "(",
            ")",
            "[",
            "]",
            "\"x\"",
            "\"\\u00e9\"",
            "\"",
            "\\",
            "1",
            "-2.5e3",
            "true",
            "null",
            " ",
            ".",
            ":",
            "$ref",
            "é",
            "\u{0}",
            "type eq \"work\"",
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let resource = user();
        for _ in 0..20_000 {
            let n = 1 + rng.roll() % 12;
            let s: String = (0..n).map(|_| rng.pick(&pieces)).collect();
            if let Ok(f) = Filter::parse(&s) {
                let _ = f.matches(&resource, &|_| false);
            }
        }
    }
}
