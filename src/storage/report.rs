//! Reports: which ones kefu computes, over what range and grouping, and
//! their shape (a table plus headline figures, so that a report exports to
//! CSV and draws as a chart alike).

use serde::{Deserialize, Serialize};

use super::Millis;

/// Time bucket of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    /// Per hour.
    Hour,
    /// Per day.
    Day,
}

/// Reports kefu computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Calls per hour or day with outcomes.
    Calls,
    /// Bot containment, resolution and transfer rates.
    Containment,
    /// Transfers by reason.
    Transfers,
    /// Per queue: entered, answered, abandoned, average wait, abandon rate.
    Queues,
    /// Per agent: handled calls, average handle time, average QA score.
    Agents,
    /// Complaints by category.
    Complaints,
    /// Survey answers: count, average, distribution.
    Csat,
    /// Per campaign: contacts, attempted, answered, dispositions.
    Campaigns,
    /// QA: calls inspected, average score, flags by code.
    Quality,
}

impl ReportKind {
    /// Every report.
    pub const ALL: [ReportKind; 9] = [
        ReportKind::Calls,
        ReportKind::Containment,
        ReportKind::Transfers,
        ReportKind::Queues,
        ReportKind::Agents,
        ReportKind::Complaints,
        ReportKind::Csat,
        ReportKind::Campaigns,
        ReportKind::Quality,
    ];

    /// Stable name, as in `/api/reports/{name}`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Calls => "calls",
            ReportKind::Containment => "containment",
            ReportKind::Transfers => "transfers",
            ReportKind::Queues => "queues",
            ReportKind::Agents => "agents",
            ReportKind::Complaints => "complaints",
            ReportKind::Csat => "csat",
            ReportKind::Campaigns => "campaigns",
            ReportKind::Quality => "quality",
        }
    }

    /// The report named `s`.
    pub fn parse(s: &str) -> Option<ReportKind> {
        ReportKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The range and grouping of a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportQuery {
    /// Calls started at or after (default: 7 days before `to`).
    pub from: Option<Millis>,
    /// Calls started before (default: now).
    pub to: Option<Millis>,
    /// Grouping of time series (default day).
    pub bucket: Option<Bucket>,
    /// Only this dialplan.
    pub dialplan: Option<String>,
    /// Offset of local time from UTC in minutes, for hour/day buckets.
    pub tz_offset_min: Option<i32>,
}

/// A report: a table, so that it exports to CSV and charts alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Which.
    pub kind: ReportKind,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows; cells are numbers, strings or null.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Headline figures (an object: `{"calls": 120, "containment_rate": 0.8}`).
    pub summary: serde_json::Value,
}
