//! Conditions in dialplans: `intent == complaint and emotion >= upset`,
//! `profile.vip >= 3`, `time >= '09:00' and time < '18:00'`,
//! `profile.tags contains 'vip'`, `last_text matches 'refund|money back'`.
//!
//! Grammar (lowest precedence first):
//! ```text
//! expr    = and ( ("or" | "||") and )*
//! and     = unary ( ("and" | "&&") unary )*
//! unary   = ("not" | "!") unary | "(" expr ")" | compare
//! compare = operand [ ("==" | "!=" | "<" | "<=" | ">" | ">=" | "contains" | "matches") operand ]
//! operand = 'text' | "text" | number | true | false | name
//! ```
//! Names are variables (`order_state`, `profile.vip`). A bare word compared
//! with `intent` is an intent name, with `emotion` an emotion level, so the
//! operator can write `intent == complaint` without quotes. Values are text:
//! two numbers compare as numbers, two emotion levels by severity
//! (neutral < concerned < upset < angry), anything else as text. An unset
//! variable is empty text. A lone operand holds when it is non-empty and not
//! `0`, `false` or `no`. `contains` looks for an item of a comma-separated
//! list (customer tags); `matches` is a regular expression search
//! (case-insensitive), compiled when the dialplan loads.

use super::emotion::Level;

/// A parsed condition.
#[derive(Debug, Clone)]
pub struct Expr {
    node: Node,
    source: String,
}

#[derive(Debug, Clone)]
enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    Cmp(Operand, Op, Operand),
    Matches(Operand, Box<regex::Regex>),
    Truthy(Operand),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Var(String),
    Text(String),
    Num(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

/// A condition that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExprError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Text(String),
    Num(f64),
    Op(&'static str),
    Open,
    Close,
}

impl Expr {
    /// Parses `source`.
    pub fn parse(source: &str) -> Result<Expr, ExprError> {
        let tokens = tokenize(source)?;
        if tokens.is_empty() {
            return Err(ExprError("the condition is empty".into()));
        }
        let mut p = Parser { tokens, at: 0 };
        let node = p.or()?;
        if let Some(t) = p.tokens.get(p.at) {
            return Err(ExprError(format!(
                "unexpected {} after a whole condition",
                show(t)
            )));
        }
        Ok(Expr {
            node,
            source: source.to_string(),
        })
    }

    /// What the operator wrote.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The variables it reads.
    pub fn vars(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.node.walk(&mut |o| {
            if let Operand::Var(v) = o {
                out.push(v.as_str());
            }
        });
        out
    }

    /// The intent names it compares `intent` with.
    pub fn intents(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.node.walk_cmp(&mut |l, r| {
            if let (Operand::Var(v), Operand::Text(t)) | (Operand::Text(t), Operand::Var(v)) =
                (l, r)
            {
                if v == "intent" && !t.is_empty() {
                    out.push(t.as_str());
                }
            }
        });
        out
    }

    /// Whether it holds, variables read through `lookup`.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
        self.node.eval(lookup)
    }
}

impl Node {
    fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Operand)) {
        match self {
            Node::Or(v) | Node::And(v) => v.iter().for_each(|n| n.walk(f)),
            Node::Not(n) => n.walk(f),
            Node::Cmp(l, _, r) => {
                f(l);
                f(r);
            }
            Node::Matches(o, _) | Node::Truthy(o) => f(o),
        }
    }

    fn walk_cmp<'a>(&'a self, f: &mut dyn FnMut(&'a Operand, &'a Operand)) {
        match self {
            Node::Or(v) | Node::And(v) => v.iter().for_each(|n| n.walk_cmp(f)),
            Node::Not(n) => n.walk_cmp(f),
            Node::Cmp(l, _, r) => f(l, r),
            Node::Matches(..) | Node::Truthy(_) => {}
        }
    }

    fn eval(&self, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            Node::Or(v) => v.iter().any(|n| n.eval(lookup)),
            Node::And(v) => v.iter().all(|n| n.eval(lookup)),
            Node::Not(n) => !n.eval(lookup),
            Node::Truthy(o) => {
                let v = value(o, lookup);
                let v = v.trim();
                !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false") || v == "no")
            }
            Node::Matches(o, re) => re.is_match(&value(o, lookup)),
            Node::Cmp(l, op, r) => compare(&value(l, lookup), *op, &value(r, lookup)),
        }
    }
}

fn value(o: &Operand, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    match o {
        Operand::Var(v) => lookup(v).unwrap_or_default(),
        Operand::Text(t) => t.clone(),
        Operand::Num(n) => n.to_string(),
    }
}

fn compare(l: &str, op: Op, r: &str) -> bool {
    use std::cmp::Ordering;
    if op == Op::Contains {
        return l
            .split(',')
            .any(|item| item.trim().eq_ignore_ascii_case(r.trim()));
    }
    let ord = match (
        l.trim().parse::<f64>(),
        r.trim().parse::<f64>(),
        Level::from_name(l),
        Level::from_name(r),
    ) {
        (Ok(a), Ok(b), _, _) => a.partial_cmp(&b),
        (_, _, Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => Some(l.trim().to_lowercase().cmp(&r.trim().to_lowercase())),
    };
    let Some(ord) = ord else { return false };
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Contains => false,
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat_op(&mut self, ops: &[&str]) -> Option<&'static str> {
        match self.peek() {
            Some(Token::Op(o)) if ops.contains(o) => {
                let o = *o;
                self.at += 1;
                Some(o)
            }
            _ => None,
        }
    }

    fn or(&mut self) -> Result<Node, ExprError> {
        let mut items = vec![self.and()?];
        while self.eat_op(&["or"]).is_some() {
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::Or(items)
        })
    }

    fn and(&mut self) -> Result<Node, ExprError> {
        let mut items = vec![self.unary()?];
        while self.eat_op(&["and"]).is_some() {
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::And(items)
        })
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        if self.eat_op(&["not"]).is_some() {
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let inner = self.or()?;
            if self.peek() != Some(&Token::Close) {
                return Err(ExprError("a `(` is not closed".into()));
            }
            self.at += 1;
            return Ok(inner);
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Node, ExprError> {
        let left = self.operand()?;
        let ops = ["==", "!=", "<=", ">=", "<", ">", "contains", "matches"];
        let Some(op) = self.eat_op(&ops) else {
            return Ok(Node::Truthy(left));
        };
        let mut right = self.operand()?;
        if op == "matches" {
            let Operand::Text(pattern) = right else {
                return Err(ExprError("`matches` needs a quoted pattern".into()));
            };
            let re = regex::RegexBuilder::new(&pattern)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| ExprError(format!("bad pattern '{pattern}': {e}")))?;
            return Ok(Node::Matches(left, Box::new(re)));
        }
        let mut left = left;
        bare_words(&mut left, &mut right)?;
        let op = match op {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            _ => Op::Contains,
        };
        Ok(Node::Cmp(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, ExprError> {
        let t = self.peek().cloned();
        self.at += 1;
        match t {
            Some(Token::Name(n)) => Ok(match n.as_str() {
                "true" => Operand::Text("true".into()),
                "false" => Operand::Text("false".into()),
                _ => Operand::Var(n),
            }),
            Some(Token::Text(t)) => Ok(Operand::Text(t)),
            Some(Token::Num(n)) => Ok(Operand::Num(n)),
            Some(t) => Err(ExprError(format!("expected a value, found {}", show(&t)))),
            None => Err(ExprError("the condition ends too early".into())),
        }
    }
}

/// `intent == complaint`: the bare word is an intent name; `emotion >=
/// upset`: an emotion level (which must exist).
fn bare_words(left: &mut Operand, right: &mut Operand) -> Result<(), ExprError> {
    let fix = |known: &Operand, other: &mut Operand| -> Result<(), ExprError> {
        let (Operand::Var(k), Operand::Var(word)) = (known, &*other) else {
            return Ok(());
        };
        if k == "intent" {
            *other = Operand::Text(word.clone());
        } else if k == "emotion" {
            if Level::from_name(word).is_none() {
                return Err(ExprError(format!(
                    "`{word}` is not an emotion level (neutral, concerned, upset, angry)"
                )));
            }
            *other = Operand::Text(word.clone());
        }
        Ok(())
    };
    let l = left.clone();
    fix(&l, right)?;
    let r = right.clone();
    fix(&r, left)
}

fn show(t: &Token) -> String {
    match t {
        Token::Name(n) => format!("`{n}`"),
        Token::Text(t) => format!("'{t}'"),
        Token::Num(n) => n.to_string(),
        Token::Op(o) => format!("`{o}`"),
        Token::Open => "`(`".into(),
        Token::Close => "`)`".into(),
    }
}

fn tokenize(src: &str) -> Result<Vec<Token>, ExprError> {
    let mut out = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' || c == ')' {
            out.push(if c == '(' { Token::Open } else { Token::Close });
            i += 1;
        } else if c == '\'' || c == '"' {
            let end = chars[i + 1..]
                .iter()
                .position(|&d| d == c)
                .ok_or_else(|| ExprError(format!("a text starting with {c} is not closed")))?;
            out.push(Token::Text(chars[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = text
                .parse()
                .map_err(|_| ExprError(format!("`{text}` is not a number")))?;
            out.push(Token::Num(n));
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(match word.as_str() {
                "and" => Token::Op("and"),
                "or" => Token::Op("or"),
                "not" => Token::Op("not"),
                "contains" => Token::Op("contains"),
                "matches" => Token::Op("matches"),
                _ => Token::Name(word),
            });
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = match two.as_str() {
                "==" => Some("=="),
                "!=" => Some("!="),
                "<=" => Some("<="),
                ">=" => Some(">="),
                "&&" => Some("and"),
                "||" => Some("or"),
                _ => None,
            };
            if let Some(op) = op {
                out.push(Token::Op(op));
                i += 2;
                continue;
            }
            out.push(match c {
                '<' => Token::Op("<"),
                '>' => Token::Op(">"),
                '!' => Token::Op("not"),
                '=' => return Err(ExprError("`=` compares nothing: write `==`".into())),
                c => return Err(ExprError(format!("`{c}` has no meaning in a condition"))),
            });
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(src: &str, vars: &[(&str, &str)]) -> bool {
        let e = Expr::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        e.eval(&|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn intents_and_emotion_levels() {
        let v = [("intent", "complaint"), ("emotion", "angry")];
        assert!(holds("intent == complaint and emotion >= upset", &v));
        assert!(!holds("intent == complaint and emotion < upset", &v));
        assert!(holds("emotion > 'concerned'", &v));
        assert!(!holds("emotion >= upset", &[("emotion", "concerned")]));
        let e = Expr::parse("intent == complaint or intent != goodbye").unwrap();
        assert_eq!(e.intents(), ["complaint", "goodbye"]);
        assert_eq!(e.vars(), ["intent", "intent"]);
        assert!(Expr::parse("emotion >= ecstatic").is_err());
    }

    #[test]
    fn numbers_text_time_and_lists() {
        let v = [
            ("profile.vip", "3"),
            ("time", "09:30"),
            ("profile.tags", "vip, complaint"),
            ("last_text", "I want my MONEY back"),
        ];
        assert!(holds("profile.vip >= 3", &v));
        assert!(!holds("profile.vip > 10", &v), "numbers, not text");
        assert!(holds("time >= '09:00' && time < \"18:00\"", &v));
        assert!(holds("profile.tags contains 'VIP'", &v));
        assert!(!holds("profile.tags contains 'vi'", &v));
        assert!(holds("last_text matches 'refund|money back'", &v));
        assert!(holds("not (profile.vip < 2) and !missing", &v));
        assert!(holds("profile.vip", &v));
        assert!(!holds("missing", &v));
        assert!(holds("missing == ''", &v));
        assert!(holds("x == -1.5", &[("x", "-1.50")]));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        for (bad, says) in [
            ("", "empty"),
            ("a =", "=="),
            ("(a == 1", "not closed"),
            ("a == 'x", "not closed"),
            ("a matches '('", "bad pattern"),
            ("a matches b", "quoted"),
            ("a == 1 b", "unexpected"),
            ("a ==", "too early"),
            ("a # b", "no meaning"),
        ] {
            let e = Expr::parse(bad).expect_err(bad);
            assert!(e.0.contains(says), "{bad}: {e}");
        }
    }
}
