//! Dates in English and Chinese, relative to a fixed today.
use super::*;

fn d(year: i32, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

/// Wednesday 13 May 2026.
const TODAY: Date = Date {
    year: 2026,
    month: 5,
    day: 13,
};

/// Each case: what was said, the date wanted (YYYY-MM-DD).
fn check(cases: &[(&str, &str)]) {
    for (said, want) in cases {
        let got = date(said, TODAY).map(|d| d.to_string());
        assert_eq!(got.as_deref(), Some(*want), "{said}");
    }
}

#[test]
fn calendar_arithmetic() {
    assert_eq!(d(1970, 1, 1).weekday(), 3);
    assert_eq!(d(2000, 1, 1).weekday(), 5);
    assert_eq!(d(2024, 2, 29).weekday(), 3);
    assert_eq!(TODAY.weekday(), 2);
    assert_eq!(d(2024, 2, 28).add_days(1), d(2024, 2, 29));
    assert_eq!(d(2023, 2, 28).add_days(1), d(2023, 3, 1));
    assert_eq!(d(2026, 12, 31).add_days(1), d(2027, 1, 1));
    assert_eq!(d(2026, 1, 1).add_days(-1), d(2025, 12, 31));
    assert_eq!(d(2026, 3, 1).add_days(365), d(2027, 3, 1));
    for n in [-800_000i64, -1, 0, 59, 60, 400_000] {
        assert_eq!(d(1970, 1, 1).add_days(n).days(), n);
    }
    assert_eq!(TODAY.to_string(), "2026-05-13");
    assert_eq!(d(33, 1, 2).to_string(), "0033-01-02");
    assert!(Date::new(2026, 2, 29).is_none() && Date::new(2028, 2, 29).is_some());
    assert!(Date::new(2026, 13, 1).is_none() && Date::new(2026, 4, 31).is_none());
    assert!(Date::new(2026, 1, 0).is_none());
    assert!(d(2026, 5, 31) < d(2026, 6, 1));
    // Out-of-range fields and offsets never panic.
    let _ = d(2026, 0, 99).weekday();
    let _ = d(i32::MAX, 12, 31).add_days(i64::MAX);
    let _ = d(i32::MIN, 1, 1).add_days(i64::MIN);
    let _ = date("明年3月5号 next friday the 5th 12/25", d(i32::MAX, 12, 31));
}

#[test]
#[rustfmt::skip]
fn english_relative_days_and_weekdays() {
    check(&[
        ("today please", "2026-05-13"), ("Tomorrow.", "2026-05-14"),
        ("the day after tomorrow", "2026-05-15"), ("yesterday", "2026-05-12"),
        ("in three days", "2026-05-16"), ("in 10 days", "2026-05-23"),
        ("in a week", "2026-05-20"), ("in a couple of days", "2026-05-15"),
        ("two weeks from now", "2026-05-27"), ("not today, tomorrow", "2026-05-14"),
        ("monday", "2026-05-18"), ("next Monday", "2026-05-18"),
        ("on friday", "2026-05-15"), ("this friday", "2026-05-15"),
        // Today is a Wednesday: the next one is a week ahead.
        ("wednesday", "2026-05-20"), ("Sunday", "2026-05-17"),
        ("last monday", "2026-05-11"), ("friday next week", "2026-05-22"),
        ("next week tuesday", "2026-05-19"),
    ]);
}

#[test]
#[rustfmt::skip]
fn english_month_and_day() {
    check(&[
        ("March 3rd", "2027-03-03"), ("on the 3rd of March", "2027-03-03"),
        ("march the third", "2027-03-03"), ("may 13", "2026-05-13"),
        ("May 20th", "2026-05-20"), ("twenty-fifth of December", "2026-12-25"),
        ("december twenty five", "2026-12-25"), ("3 June", "2026-06-03"),
        ("sept 1st", "2026-09-01"), ("march 3rd 2028", "2028-03-03"),
        ("the fifth", "2026-06-05"), ("on the 20th", "2026-05-20"),
        ("the thirty-first", "2026-05-31"), ("the thirteenth", "2026-05-13"),
        ("12/25", "2026-12-25"), ("deliver on 1/2.", "2027-01-02"),
        ("2026-12-25", "2026-12-25"), ("12/25/2027", "2027-12-25"),
        ("25/12/2027", "2027-12-25"), ("２０２６／１２／２５", "2026-12-25"),
    ]);
}

#[test]
#[rustfmt::skip]
fn chinese_days_and_weekdays() {
    check(&[
        ("今天", "2026-05-13"), ("明天上午", "2026-05-14"), ("后天", "2026-05-15"),
        ("大后天吧", "2026-05-16"), ("昨天", "2026-05-12"), ("前天", "2026-05-11"),
        ("三天后", "2026-05-16"), ("过两天", "2026-05-15"), ("一周后", "2026-05-20"),
        ("两个星期以后", "2026-05-27"),
        ("下周一", "2026-05-18"), ("下星期三", "2026-05-20"), ("下礼拜五", "2026-05-22"),
        ("周五", "2026-05-15"), ("星期天", "2026-05-17"), ("礼拜天", "2026-05-17"),
        ("周日", "2026-05-17"), ("星期三", "2026-05-20"), ("这周五", "2026-05-15"),
        ("上周一", "2026-05-04"), ("下下周二", "2026-05-26"),
    ]);
}

#[test]
#[rustfmt::skip]
fn chinese_month_and_day() {
    check(&[
        ("3月5号", "2027-03-05"), ("3月5日", "2027-03-05"), ("三月五号", "2027-03-05"),
        ("十二月二十五日", "2026-12-25"), ("我想改到6月1号送", "2026-06-01"),
        ("五月十三号", "2026-05-13"), ("2026年12月25日", "2026-12-25"),
        ("二〇二七年一月二日", "2027-01-02"), ("明年3月5号", "2027-03-05"),
        ("下个月5号", "2026-06-05"), ("5号", "2026-06-05"), ("二十号", "2026-05-20"),
        ("３１号", "2026-05-31"),
    ]);
}

#[test]
#[rustfmt::skip]
fn no_date_or_no_such_date() {
    for said in [
        "", "where is my order", "I want to speak to a person", "may I ask something",
        "my number is 555-123-4567", "the first time I called", "it costs 3.50",
        "我的快递到哪了", "一周", "两个月", "2月30号", "February 30th", "13/13",
        "2026-02-30", "32号",
    ] {
        assert_eq!(date(said, TODAY), None, "{said}");
    }
}

#[test]
fn days_of_the_month_roll_over_to_months_that_have_them() {
    let jan31 = d(2026, 1, 31);
    assert_eq!(date("the 31st", jan31), Some(jan31));
    assert_eq!(date("the 30th", jan31), Some(d(2026, 3, 30)));
    assert_eq!(date("29号", d(2027, 1, 30)), Some(d(2027, 3, 29)));
    assert_eq!(date("February 29th", TODAY), Some(d(2028, 2, 29)));
    assert_eq!(date("12/31", d(2026, 12, 31)), Some(d(2026, 12, 31)));
    assert_eq!(date("下个月5号", d(2026, 12, 20)), Some(d(2027, 1, 5)));
    assert_eq!(date("monday", d(2026, 12, 31)), Some(d(2027, 1, 4)));
}

#[test]
fn any_text_is_safe() {
    // A deterministic jumble of the pieces the readers look for.
    let parts: Vec<&str> = "月 号 日 年 周 星期 下 个 天 后 过 十 二 三 31 2026 / - . _ the of \
                            march next week in days a couple twenty first monday 今天 大后天"
        .split_whitespace()
        .map(|p| if p == "_" { " " } else { p })
        .collect();
    let mut x: u64 = 7;
    let mut next = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as usize
    };
    for _ in 0..3000 {
        let s: String = (0..next() % 9)
            .map(|_| parts[next() % parts.len()])
            .collect();
        if let Some(found) = date(&s, TODAY) {
            assert!(found.is_valid(), "{s}: {found}");
        }
    }
}
