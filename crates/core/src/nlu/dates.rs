//! Calendar dates in what the caller said, English and Chinese, resolved
//! against today's date (which the caller of [`date`] supplies: this crate
//! reads no clock).
//!
//! English: "today", "tomorrow", "the day after tomorrow", "yesterday",
//! "(next|this|last) monday", "monday next week", "March 3rd", "3rd of
//! March", "march the third", "the fifth", "12/25", "12/25/2026",
//! "2026-12-25", "in three days", "two weeks from now". Chinese: 今天 明天
//! 后天 大后天 昨天 前天, 周五 星期天 礼拜天, 下周一 下星期三 这周五 上周一,
//! 3月5号 三月五号 十二月二十五日 2026年3月5日 下个月5号, 5号, 三天后 过两天
//! 一周后.
//!
//! Past or future, when the words leave it open:
//! - a weekday name is its next occurrence, 1 to 7 days ahead (today
//!   excluded: "monday" said on a Monday is a week ahead); "last monday"
//!   the previous one. Chinese 下周X (and English "X next week") is day X
//!   of the next calendar week (weeks start on Monday), 这周X that of this
//!   week, 上周X of the last;
//! - a month and day without a year is the next occurrence, today
//!   included (within a year; 29 February the next leap year);
//! - a day of the month alone ("the fifth", "5号") is this month's if
//!   still to come (today included), else the next month that has it.
//!
//! When the text names several dates the last one wins ("not today,
//! tomorrow"); where two readings overlap the longer one does ("the day
//! after tomorrow" is not "tomorrow").
//!
//! Not here: times of day, date ranges, spoken years ("twenty twenty
//! six"), other calendars (lunar dates).

use std::fmt;

use super::slots::{is_zh_numeral, number_words, zh_number};

/// A date in the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// The year (2026).
    pub year: i32,
    /// The month, 1 to 12.
    pub month: u8,
    /// The day of the month, 1 to 31.
    pub day: u8,
}

impl Date {
    /// The date, if it exists (no 30 February).
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        let d = Date { year, month, day };
        d.is_valid().then_some(d)
    }

    /// True when the month and day exist in the year.
    pub fn is_valid(self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
    }

    /// Day of the week: 0 for Monday to 6 for Sunday.
    pub fn weekday(self) -> u8 {
        // 1970-01-01 was a Thursday (3).
        u8::try_from((self.days() + 3).rem_euclid(7)).unwrap_or(0)
    }

    /// The date `days` later (earlier when negative).
    pub fn add_days(self, days: i64) -> Date {
        Date::from_days(self.days().saturating_add(days))
    }

    /// Days since 1970-01-01 (H. Hinnant's `days_from_civil`).
    fn days(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The inverse of [`Date::days`] (`civil_from_days`).
    fn from_days(z: i64) -> Date {
        let z = z.clamp(-1_000_000_000, 1_000_000_000) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
        }
    }

    /// The next date on or after `self` with this month and day.
    fn next_month_day(self, month: u8, day: u8) -> Option<Date> {
        (self.year..self.year.saturating_add(9))
            .filter_map(|y| Date::new(y, month, day))
            .find(|d| *d >= self)
    }

    /// The next date on or after `self` with this day of the month,
    /// starting `skip` months on.
    fn next_day_of_month(self, day: u8, skip: i32) -> Option<Date> {
        (skip..skip + 13)
            .filter_map(|k| {
                let m0 = i32::from(self.month) - 1 + k;
                let month = u8::try_from(m0.rem_euclid(12) + 1).ok()?;
                Date::new(self.year.saturating_add(m0.div_euclid(12)), month, day)
            })
            .find(|d| *d >= self)
    }

    /// Weekday `wd` of the calendar week `weeks` from this one.
    fn in_week(self, weeks: i64, wd: u8) -> Date {
        self.add_days(7 * weeks + i64::from(wd) - i64::from(self.weekday()))
    }

    /// The next weekday `wd`, 1 to 7 days ahead (or back when `back`).
    fn next_weekday(self, wd: u8, back: bool) -> Date {
        let (a, b) = (i64::from(wd), i64::from(self.weekday()));
        if back {
            self.add_days(-((b - a + 6).rem_euclid(7) + 1))
        } else {
            self.add_days((a - b + 6).rem_euclid(7) + 1)
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Days in `month` of `year` (0 for a month that does not exist).
pub fn days_in_month(year: i32, month: u8) -> u8 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    }
}

/// The date `text` names, relative to `today`; see the module docs.
pub fn date(text: &str, today: Date) -> Option<Date> {
    let chars: Vec<char> = text.chars().map(fold).collect();
    let toks = tokens(&chars);
    let mut found = Vec::new();
    numeric(&chars, today, &mut found);
    english(&toks, today, &mut found);
    chinese(&chars, today, &mut found);
    pick(found)
}

/// A reading of part of the text: chars `start..end` name `date`.
#[derive(Debug, Clone, Copy)]
struct Found {
    start: usize,
    end: usize,
    date: Date,
}

impl Found {
    fn new(start: usize, end: usize, date: Date) -> Found {
        Found { start, end, date }
    }
}

/// The last of the readings, after overlapping ones gave way to the
/// longest.
fn pick(mut found: Vec<Found>) -> Option<Date> {
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let mut kept: Vec<Found> = Vec::new();
    for f in found {
        match kept.last_mut() {
            Some(k) if f.start < k.end => {
                if f.end - f.start > k.end - k.start {
                    *k = f;
                }
            }
            _ => kept.push(f),
        }
    }
    kept.last().map(|f| f.date)
}

/// Full-width ASCII to ASCII, ASCII to lower case.
fn fold(c: char) -> char {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
        _ => c,
    };
    c.to_ascii_lowercase()
}

/// A run of ASCII letters and digits, with its place in the text.
#[derive(Debug)]
struct Tok {
    text: String,
    start: usize,
    end: usize,
}

fn tokens(chars: &[char]) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::new();
    for (i, &c) in chars
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_ascii_alphanumeric())
    {
        match out.last_mut() {
            Some(t) if t.end == i => {
                t.text.push(c);
                t.end = i + 1;
            }
            _ => out.push(Tok {
                text: c.to_string(),
                start: i,
                end: i + 1,
            }),
        }
    }
    out
}

/// "12/25", "12/25/2026", "25/12/2026", "2026-12-25", "2026/12/25".
fn numeric(chars: &[char], today: Date, found: &mut Vec<Found>) {
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || "/-.".contains(chars[i])) {
            i += 1;
        }
        let mut end = i;
        while end > start && !chars[end - 1].is_ascii_digit() {
            end -= 1;
        }
        let run: String = chars[start..end].iter().collect();
        if let Some(date) = numeric_date(&run, today) {
            found.push(Found::new(start, end, date));
        }
    }
}

fn numeric_date(run: &str, today: Date) -> Option<Date> {
    let sep = run.chars().find(|c| !c.is_ascii_digit())?;
    let parts: Vec<&str> = run.split(sep).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let n = |i: usize| parts.get(i).and_then(|p| p.parse::<u32>().ok());
    let md = |a: u32, b: u32| -> Option<(u8, u8)> {
        // Month first (US) when it can be, else day first.
        let (a, b) = (u8::try_from(a).ok()?, u8::try_from(b).ok()?);
        if (1..=12).contains(&a) && (1..=31).contains(&b) {
            Some((a, b))
        } else {
            Some((b, a))
        }
    };
    match parts.len() {
        3 if parts[0].len() == 4 => Date::new(
            i32::try_from(n(0)?).ok()?,
            u8::try_from(n(1)?).ok()?,
            u8::try_from(n(2)?).ok()?,
        ),
        3 if parts[2].len() == 4 => {
            let (m, d) = md(n(0)?, n(1)?)?;
            Date::new(i32::try_from(n(2)?).ok()?, m, d)
        }
        2 if sep == '/' && parts.iter().all(|p| p.len() <= 2) => {
            let (m, d) = md(n(0)?, n(1)?)?;
            today.next_month_day(m, d)
        }
        _ => None,
    }
}

/// Month names and their short forms, in order.
const MONTHS: &str = "january february march april may june july august september october \
                      november december";
const MONTHS_SHORT: &str = "jan feb mar apr may jun jul aug sep oct nov dec";
const WEEKDAYS: &str = "monday tuesday wednesday thursday friday saturday sunday";
/// Words after "the fifth" that make it something other than a date.
const NOT_A_DAY: &str = "time times day days week weeks month months year years one ones \
                         call calls floor item items order orders person thing";

/// Where `w` stands in the space-separated `list`.
fn index_in(list: &str, w: &str) -> Option<u8> {
    list.split_whitespace()
        .position(|x| x == w)
        .and_then(|p| u8::try_from(p).ok())
}

fn month_of(w: &str) -> Option<u8> {
    let m = if w == "sept" {
        Some(8)
    } else {
        index_in(MONTHS, w).or_else(|| index_in(MONTHS_SHORT, w))
    };
    m.map(|m| m + 1)
}

/// A number at `t[i..]` (see [`number_words`]).
fn number_at(t: &[Tok], i: usize) -> Option<(u32, usize, bool)> {
    let words: Vec<&str> = t.iter().skip(i).take(2).map(|x| x.text.as_str()).collect();
    number_words(&words)
}

/// A day of the month at `t[i..]`: value and tokens used.
fn day_at(t: &[Tok], i: usize) -> Option<(u8, usize, bool)> {
    let (n, len, ordinal) = number_at(t, i)?;
    let d = u8::try_from(n).ok().filter(|d| (1..=31).contains(d))?;
    Some((d, len, ordinal))
}

/// A year right after a date ("march 3rd 2027").
fn year_at(t: &[Tok], i: usize) -> Option<i32> {
    let w = &t.get(i)?.text;
    (w.len() == 4).then(|| w.parse().ok()).flatten()
}

fn english(t: &[Tok], today: Date, found: &mut Vec<Found>) {
    let en = En { t, today };
    for i in 0..t.len() {
        for (a, b, date) in [en.relative(i), en.weekday(i), en.month_day(i), en.span(i)]
            .into_iter()
            .flatten()
        {
            if let (Some(s), Some(e)) = (t.get(a), t.get(b.saturating_sub(1))) {
                found.push(Found::new(s.start, e.end, date));
            }
        }
    }
}

/// English words, with the readers of dates in them. Each reader looks
/// at token `i` and gives the tokens `a..b` it read and the date.
struct En<'a> {
    t: &'a [Tok],
    today: Date,
}

impl En<'_> {
    fn is(&self, i: usize, w: &str) -> bool {
        self.t.get(i).is_some_and(|x| x.text == w)
    }

    fn word(&self, i: usize) -> &str {
        self.t.get(i).map_or("", |x| x.text.as_str())
    }

    /// today, tomorrow, yesterday, the day after tomorrow.
    fn relative(&self, i: usize) -> Option<(usize, usize, Date)> {
        let (n, len) = match self.word(i) {
            "today" | "tonight" => (0, 1),
            "tomorrow" => (1, 1),
            "yesterday" => (-1, 1),
            "day" if self.is(i + 1, "after") && self.is(i + 2, "tomorrow") => (2, 3),
            "day" if self.is(i + 1, "before") && self.is(i + 2, "yesterday") => (-2, 3),
            _ => return None,
        };
        Some((i, i + len, self.today.add_days(n)))
    }

    /// (next|this|coming|last) monday, monday next week, next week monday.
    fn weekday(&self, i: usize) -> Option<(usize, usize, Date)> {
        let wd = index_in(WEEKDAYS, self.word(i))?;
        let prev = if i > 0 { self.word(i - 1) } else { "" };
        if self.is(i + 1, "next") && self.is(i + 2, "week") {
            return Some((i, i + 3, self.today.in_week(1, wd)));
        }
        if i >= 2 && self.is(i - 2, "next") && prev == "week" {
            return Some((i - 2, i + 1, self.today.in_week(1, wd)));
        }
        let start = match prev {
            "next" | "this" | "coming" | "last" => i - 1,
            _ => i,
        };
        Some((start, i + 1, self.today.next_weekday(wd, prev == "last")))
    }

    /// MONTH [the] DAY [YEAR]; [the] DAY [of] MONTH [YEAR]; (the|on) DAY.
    fn month_day(&self, i: usize) -> Option<(usize, usize, Date)> {
        if let Some(m) = month_of(self.word(i)) {
            let j = if self.is(i + 1, "the") { i + 2 } else { i + 1 };
            let (d, len, _) = day_at(self.t, j)?;
            let (date, end) = with_year(self.t, j + len, self.today, m, d);
            return Some((i, end, date?));
        }
        let (d, len, ordinal) = day_at(self.t, i)?;
        let k = if self.is(i + len, "of") {
            i + len + 1
        } else {
            i + len
        };
        let after_the = i > 0 && (self.is(i - 1, "the") || self.is(i - 1, "on"));
        if let Some(m) = month_of(self.word(k)) {
            let (date, end) = with_year(self.t, k + 1, self.today, m, d);
            return Some((if after_the { i - 1 } else { i }, end, date?));
        }
        // "the fifth" alone, unless it is "the fifth time".
        if ordinal && after_the && index_in(NOT_A_DAY, self.word(i + len)).is_none() {
            return Some((i - 1, i + len, self.today.next_day_of_month(d, 0)?));
        }
        None
    }

    /// in N days / weeks; N days from now; N weeks later.
    fn span(&self, i: usize) -> Option<(usize, usize, Date)> {
        let (days, len) = span_at(self.t, i)?;
        let date = self.today.add_days(days);
        if i > 0 && self.is(i - 1, "in") {
            Some((i - 1, i + len, date))
        } else if self.is(i + len, "later") {
            Some((i, i + len + 1, date))
        } else if self.is(i + len, "from") && self.is(i + len + 1, "now") {
            Some((i, i + len + 2, date))
        } else {
            None
        }
    }
}

/// The date with the year after it, if one is said; and where it ends.
fn with_year(t: &[Tok], k: usize, today: Date, m: u8, d: u8) -> (Option<Date>, usize) {
    match year_at(t, k) {
        Some(y) => (Date::new(y, m, d), k + 1),
        None => (today.next_month_day(m, d), k),
    }
}

/// "three days", "a week", "a couple of days", "2 weeks": days and tokens.
fn span_at(t: &[Tok], i: usize) -> Option<(i64, usize)> {
    let w = t.get(i)?.text.as_str();
    let (n, len) = match w {
        "a" | "an" if t.get(i + 1).is_some_and(|x| x.text == "couple") => (2, 3),
        "couple" => (2, 2),
        "a" | "an" => (1, 1),
        _ => number_at(t, i)
            .filter(|n| !n.2)
            .map(|(n, len, _)| (n, len))?,
    };
    let unit = t.get(i + len)?.text.as_str();
    let per = match unit {
        "day" | "days" => 1,
        "week" | "weeks" => 7,
        _ => return None,
    };
    Some((i64::from(n) * per, len + 1))
}

/// The run of numerals ending just before `end` (at most `max` long).
fn num_before(c: &[char], end: usize, max: usize) -> usize {
    let mut s = end;
    while s > 0 && end - s < max && is_zh_numeral(c[s - 1]) {
        s -= 1;
    }
    s
}

/// Chinese text as chars, with the lookups its readers share.
struct Zh<'a> {
    c: &'a [char],
    today: Date,
}

impl Zh<'_> {
    /// True when `w` is written at `i`.
    fn at(&self, i: usize, w: &str) -> bool {
        w.chars()
            .enumerate()
            .all(|(k, x)| self.c.get(i + k) == Some(&x))
    }

    /// True when `w` ends just before `i`.
    fn before(&self, i: usize, w: &str) -> bool {
        let n = w.chars().count();
        i >= n && self.at(i - n, w)
    }

    /// The first of `words` that ends just before `i`, with its value.
    fn prefix<T: Copy>(&self, i: usize, words: &[(&str, T)]) -> Option<(usize, T)> {
        words
            .iter()
            .find(|(w, _)| self.before(i, w))
            .map(|(w, v)| (i - w.chars().count(), *v))
    }
}

#[rustfmt::skip]
const ZH_RELATIVE: &[(&str, i64)] = &[
    ("大后天", 3),
    ("后天", 2),
    ("明天", 1),
    ("明日", 1),
    ("今天", 0),
    ("今日", 0),
    ("昨天", -1),
    ("昨日", -1),
    ("前天", -2),
    ("大前天", -3),
];
/// Prefixes of a weekday naming its calendar week, in weeks from this.
#[rustfmt::skip]
const ZH_WEEKS: &[(&str, i64)] = &[
    ("下下个", 2),
    ("下下", 2),
    ("下个", 1),
    ("下", 1),
    ("上个", -1),
    ("上", -1),
    ("这个", 0),
    ("这", 0),
    ("本", 0),
];
const ZH_YEARS: &[(&str, i32)] = &[("今年", 0), ("明年", 1), ("去年", -1)];

fn chinese(c: &[char], today: Date, found: &mut Vec<Found>) {
    let zh = Zh { c, today };
    for i in 0..c.len() {
        for (w, n) in ZH_RELATIVE {
            if zh.at(i, w) {
                let end = i + w.chars().count();
                found.push(Found::new(i, end, today.add_days(*n)));
            }
        }
        found.extend(zh_weekday(&zh, i));
        found.extend(zh_offset(&zh, i));
        found.extend(zh_month_day(&zh, i));
        found.extend(zh_day(&zh, i));
    }
}

/// 周五, 星期天, 礼拜三, 下周一, 这周五, 上星期二 (starting at `i`).
fn zh_weekday(zh: &Zh, i: usize) -> Option<Found> {
    let w = ["周", "星期", "礼拜"].into_iter().find(|w| zh.at(i, w))?;
    let k = i + w.chars().count();
    let p = "一二三四五六日天1234567"
        .chars()
        .position(|d| zh.c.get(k) == Some(&d))?;
    let wd = u8::try_from(match p {
        0..=5 => p,
        6 | 7 => 6,
        _ => p - 8,
    })
    .ok()?;
    let (start, date) = match zh.prefix(i, ZH_WEEKS) {
        Some((s, n)) => (s, zh.today.in_week(n, wd)),
        None => (i, zh.today.next_weekday(wd, false)),
    };
    Some(Found::new(start, k + 1, date))
}

/// 三天后, 3天以后, 过两天, 一周后, 两个星期之后 (the number at `i`).
fn zh_offset(zh: &Zh, i: usize) -> Option<Found> {
    let c = zh.c;
    if !is_zh_numeral(c[i]) || (i > 0 && is_zh_numeral(c[i - 1])) {
        return None;
    }
    let e = (i..c.len().min(i + 3))
        .take_while(|k| is_zh_numeral(c[*k]))
        .last()?
        + 1;
    let n = i64::from(zh_number(&c[i..e])?);
    let u = if zh.at(e, "个") { e + 1 } else { e };
    let (per, after) = if zh.at(u, "天") {
        (1, u + 1)
    } else if zh.at(u, "周") {
        (7, u + 1)
    } else if zh.at(u, "星期") || zh.at(u, "礼拜") {
        (7, u + 2)
    } else {
        return None;
    };
    let date = zh.today.add_days(n * per);
    if let Some(w) = ["以后", "之后", "后"].iter().find(|w| zh.at(after, w)) {
        Some(Found::new(i, after + w.chars().count(), date))
    } else {
        zh.before(i, "过")
            .then_some(Found::new(i.saturating_sub(1), after, date))
    }
}

/// 3月5号, 十二月二十五日, 2026年3月5日, 明年3月5号, 下个月5号 (the 月
/// at `i`).
fn zh_month_day(zh: &Zh, i: usize) -> Option<Found> {
    let c = zh.c;
    if c[i] != '月' {
        return None;
    }
    let e = (i + 1..c.len().min(i + 4))
        .take_while(|k| is_zh_numeral(c[*k]))
        .last()?
        + 1;
    let d = u8::try_from(zh_number(&c[i + 1..e])?).ok()?;
    let end = if matches!(c.get(e), Some('号' | '日')) {
        e + 1
    } else {
        e
    };
    let s = num_before(c, i, 2);
    if s == i {
        // No month number: 下个月 / 这个月 / 本月.
        let months: &[(&str, i32)] = &[("下个", 1), ("下", 1), ("这个", 0), ("本", 0)];
        let (start, k) = zh.prefix(i, months)?;
        let m0 = i32::from(zh.today.month) - 1 + k;
        let month = u8::try_from(m0.rem_euclid(12) + 1).ok()?;
        let date = Date::new(zh.today.year.saturating_add(m0.div_euclid(12)), month, d)?;
        return Some(Found::new(start, end, date));
    }
    let m = u8::try_from(zh_number(&c[s..i])?).ok()?;
    let (start, date) = if let Some((ys, n)) = zh.prefix(s, ZH_YEARS) {
        (ys, Date::new(zh.today.year.saturating_add(n), m, d))
    } else if s > 0 && c[s - 1] == '年' {
        let ys = num_before(c, s - 1, 4);
        let y = i32::try_from(zh_number(&c[ys..s - 1])?).ok()?;
        (ys, Date::new(if y < 100 { 2000 + y } else { y }, m, d))
    } else {
        (s, zh.today.next_month_day(m, d))
    };
    Some(Found::new(start, end, date?))
}

/// 5号, 二十日 alone: this month's or the next (the 号 or 日 at `i`).
fn zh_day(zh: &Zh, i: usize) -> Option<Found> {
    let c = zh.c;
    if c[i] != '号' && c[i] != '日' {
        return None;
    }
    let s = num_before(c, i, 3);
    if s > 0 && c[s - 1] == '月' {
        return None;
    }
    let d = u8::try_from(zh_number(&c[s..i])?).ok()?;
    let date = zh.today.next_day_of_month(d, 0)?;
    Some(Found::new(s, i + 1, date))
}

#[cfg(test)]
#[path = "dates_tests.rs"]
mod tests;
