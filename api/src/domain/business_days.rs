//! Japanese business days: weekdays that are neither a national holiday
//! (国民の祝日, with 振替休日 and 国民の休日) nor in the year-end break
//! (12/29 to 1/3). Service levels are counted in these, in Japan time.
//!
//! The rules are those of the Act on National Holidays as amended in 2018
//! (天皇誕生日 on 2/23 from 2020). The one-off moves of 2019-2021 (enthronement,
//! Olympics) are not modelled; the service counts dates from 2022 on.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};

/// Japan Standard Time, UTC+9 all year.
pub fn jst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("a valid offset")
}

/// The date in Japan at an instant.
pub fn japan_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&jst()).date_naive()
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a valid date")
}

/// The `n`th Monday of a month (Happy Monday holidays).
fn nth_monday(year: i32, month: u32, n: u32) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, n as u8).expect("a Monday")
}

/// 春分日 and 秋分日 by the usual approximation, valid 1980-2099.
fn equinoxes(year: i32) -> (NaiveDate, NaiveDate) {
    let y = f64::from(year - 1980);
    let leap = f64::from((year - 1980).div_euclid(4));
    let vernal = (20.8431 + 0.242194 * y - leap).floor() as u32;
    let autumnal = (23.2488 + 0.242194 * y - leap).floor() as u32;
    (date(year, 3, vernal), date(year, 9, autumnal))
}

/// The named national holidays of a year, before substitutes.
fn named_holidays(year: i32) -> Vec<NaiveDate> {
    let (vernal, autumnal) = equinoxes(year);
    vec![
        date(year, 1, 1),
        nth_monday(year, 1, 2),
        date(year, 2, 11),
        date(year, 2, 23),
        vernal,
        date(year, 4, 29),
        date(year, 5, 3),
        date(year, 5, 4),
        date(year, 5, 5),
        nth_monday(year, 7, 3),
        date(year, 8, 11),
        nth_monday(year, 9, 3),
        autumnal,
        nth_monday(year, 10, 2),
        date(year, 11, 3),
        date(year, 11, 23),
    ]
}

/// Every national holiday of a year, substitutes and citizens' holidays included, sorted.
pub fn national_holidays(year: i32) -> Vec<NaiveDate> {
    let named = named_holidays(year);
    let mut all = named.clone();
    // 振替休日: a holiday on a Sunday moves to the next day that is not a holiday.
    for day in &named {
        if day.weekday() == Weekday::Sun {
            let mut next = *day + Duration::days(1);
            while named.contains(&next) {
                next += Duration::days(1);
            }
            all.push(next);
        }
    }
    // 国民の休日: a day between two holidays is a holiday too.
    for day in &named {
        let between = *day + Duration::days(1);
        if named.contains(&(between + Duration::days(1)))
            && !all.contains(&between)
            && between.weekday() != Weekday::Sun
        {
            all.push(between);
        }
    }
    all.sort();
    all.dedup();
    all
}

pub fn is_national_holiday(day: NaiveDate) -> bool {
    national_holidays(day.year()).contains(&day)
}

/// 12/29 to 1/3, when public offices and most universities close.
pub fn is_year_end_break(day: NaiveDate) -> bool {
    matches!((day.month(), day.day()), (12, 29..=31) | (1, 1..=3))
}

pub fn is_business_day(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
        && !is_year_end_break(day)
        && !is_national_holiday(day)
}

/// The `n`th business day after `day` (not counting `day` itself).
pub fn add_business_days(day: NaiveDate, n: u32) -> NaiveDate {
    let mut current = day;
    let mut left = n;
    while left > 0 {
        current += Duration::days(1);
        if is_business_day(current) {
            left -= 1;
        }
    }
    current
}

/// When a time limit of `n` business days that started at `start` runs out:
/// the same time of day, `n` business days later (in Japan). A start outside
/// business days counts from the beginning of the next business day.
pub fn deadline(start: DateTime<Utc>, n: u32) -> DateTime<Utc> {
    let local = start.with_timezone(&jst());
    let (mut day, mut time) = (local.date_naive(), local.time());
    if !is_business_day(day) {
        day = add_business_days(day, 1);
        time = NaiveTime::MIN;
    }
    let due = add_business_days(day, n).and_time(time);
    jst()
        .from_local_datetime(&due)
        .single()
        .expect("JST has no gaps")
        .with_timezone(&Utc)
}

/// Whole business days from `from` to `to` (0 when `to` is not later): how
/// many business-day deadlines have passed.
pub fn business_days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    let mut n = 0;
    while deadline(from, n + 1) <= to {
        n += 1;
        if n > 3660 {
            break;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        date(y, m, day)
    }

    #[test]
    fn holidays_of_2025_to_2027_match_the_cabinet_office_list() {
        let expected_2025 = [
            (1, 1),
            (1, 13),
            (2, 11),
            (2, 23),
            (2, 24),
            (3, 20),
            (4, 29),
            (5, 3),
            (5, 4),
            (5, 5),
            (5, 6),
            (7, 21),
            (8, 11),
            (9, 15),
            (9, 23),
            (10, 13),
            (11, 3),
            (11, 23),
            (11, 24),
        ];
        let expected_2026 = [
            (1, 1),
            (1, 12),
            (2, 11),
            (2, 23),
            (3, 20),
            (4, 29),
            (5, 3),
            (5, 4),
            (5, 5),
            (5, 6),
            (7, 20),
            (8, 11),
            (9, 21),
            (9, 22),
            (9, 23),
            (10, 12),
            (11, 3),
            (11, 23),
        ];
        let expected_2027 = [
            (1, 1),
            (1, 11),
            (2, 11),
            (2, 23),
            (3, 21),
            (3, 22),
            (4, 29),
            (5, 3),
            (5, 4),
            (5, 5),
            (7, 19),
            (8, 11),
            (9, 20),
            (9, 23),
            (10, 11),
            (11, 3),
            (11, 23),
        ];
        for (year, expected) in [
            (2025, &expected_2025[..]),
            (2026, &expected_2026[..]),
            (2027, &expected_2027[..]),
        ] {
            let want: Vec<NaiveDate> = expected.iter().map(|&(m, day)| d(year, m, day)).collect();
            assert_eq!(national_holidays(year), want, "{year}");
        }
    }

    #[test]
    fn equinoxes_by_the_formula() {
        assert_eq!(equinoxes(2024), (d(2024, 3, 20), d(2024, 9, 22)));
        assert_eq!(equinoxes(2028), (d(2028, 3, 20), d(2028, 9, 22)));
        assert_eq!(equinoxes(2030), (d(2030, 3, 20), d(2030, 9, 23)));
    }

    #[test]
    fn weekends_holidays_and_the_year_end_break_are_not_business_days() {
        assert!(is_business_day(d(2026, 11, 24))); // Tuesday
        assert!(!is_business_day(d(2026, 11, 23))); // 勤労感謝の日
        assert!(!is_business_day(d(2026, 11, 28))); // Saturday
        assert!(!is_business_day(d(2026, 9, 22))); // 国民の休日
        assert!(!is_business_day(d(2026, 12, 29)));
        assert!(!is_business_day(d(2027, 1, 3))); // Sunday anyway
        assert!(!is_business_day(d(2026, 12, 31))); // Thursday in the break
        assert!(is_business_day(d(2026, 12, 28)));
        assert!(is_business_day(d(2027, 1, 4)));
    }

    #[test]
    fn deadlines_skip_the_break_and_happy_mondays() {
        // Friday 25 Dec 2026, 10:00 JST: 28 Dec, then 4, 5, 6, 7 Jan.
        let start = Utc.with_ymd_and_hms(2026, 12, 25, 1, 0, 0).unwrap();
        assert_eq!(
            deadline(start, 5),
            Utc.with_ymd_and_hms(2027, 1, 7, 1, 0, 0).unwrap()
        );
        // 7 Jan 2027 + 5: 8, 12, 13, 14, 15 (11 Jan is 成人の日).
        let start = Utc.with_ymd_and_hms(2027, 1, 7, 1, 0, 0).unwrap();
        assert_eq!(
            deadline(start, 5),
            Utc.with_ymd_and_hms(2027, 1, 15, 1, 0, 0).unwrap()
        );
        // Tuesday 24 Nov 2026, 18:00 JST (09:00 UTC): Tuesday 1 Dec, same time.
        let start = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        assert_eq!(
            deadline(start, 5),
            Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
        );
        // Saturday: counted from Monday 00:00 JST.
        let start = Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, 0).unwrap();
        assert_eq!(
            deadline(start, 1),
            Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap() - Duration::days(1)
        );
    }

    #[test]
    fn business_days_between_counts_whole_days() {
        let start = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        assert_eq!(business_days_between(start, start), 0);
        assert_eq!(
            business_days_between(start, Utc.with_ymd_and_hms(2026, 12, 1, 8, 59, 0).unwrap()),
            4
        );
        assert_eq!(
            business_days_between(start, Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()),
            5
        );
    }
}
