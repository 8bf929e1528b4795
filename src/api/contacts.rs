//! A campaign's contacts: listing them, and adding a list as JSON (an
//! array of `{phone, name, data}`) or as CSV (`Content-Type: text/csv`,
//! a header row `phone,name` and any further columns, which go into each
//! contact's `data`). Every row is checked first; if any is bad, the reply
//! lists each bad row by number and nothing is stored.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::admin::{check_text, find_campaign};
use super::csv;
use super::error::{ApiError, ApiResult, Body, PathParams};
use super::state::ApiState;
use crate::storage::Contact;

/// Most contacts one upload may add.
const MAX_CONTACTS: usize = 50_000;

/// `GET /api/campaigns/{id}/contacts`.
pub async fn list(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<Vec<Contact>>> {
    let campaign = find_campaign(&state, id).await?;
    Ok(Json(state.db(move |s| s.contacts(&campaign.id)).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactBody {
    phone: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

/// `POST /api/campaigns/{id}/contacts`: adds contacts; 201 with their ids.
pub async fn add(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let campaign = find_campaign(&state, id).await?;
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("text/csv"));
    let rows = if is_csv {
        from_csv(body.text()?)?
    } else {
        let items: Vec<ContactBody> = body.json()?;
        items
            .into_iter()
            .enumerate()
            .map(|(i, c)| (format!("item {}", i + 1), Ok(c)))
            .collect()
    };
    if rows.is_empty() {
        return Err(ApiError::bad_request("no contacts in the request"));
    }
    if rows.len() > MAX_CONTACTS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_CONTACTS} contacts per request"
        )));
    }
    let mut problems = Vec::new();
    let mut contacts = Vec::with_capacity(rows.len());
    for (at, c) in rows {
        match c.and_then(|c| contact(&campaign.id, c)) {
            Ok(c) => contacts.push(c),
            Err(e) => problems.push(format!("{at}: {}", e.message)),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{} bad contact(s); nothing was added",
            problems.len()
        ))
        .with_errors(problems));
    }
    let ids = state.db(move |s| s.add_contacts(&contacts)).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "added": ids.len(), "ids": ids })),
    )
        .into_response())
}

/// Checks one contact.
fn contact(campaign: &str, c: ContactBody) -> ApiResult<Contact> {
    let phone = c.phone.trim().to_string();
    let digits = phone.strip_prefix('+').unwrap_or(&phone);
    if !(3..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request(format!(
            "phone: expected 3 to 20 digits with an optional leading +, got {:?}",
            c.phone
        )));
    }
    check_text("name", &c.name, 200, false)?;
    let data = c.data.unwrap_or_else(|| serde_json::json!({}));
    if !data.is_object() {
        return Err(ApiError::bad_request("data: must be an object"));
    }
    Ok(Contact {
        id: 0,
        campaign_id: campaign.to_string(),
        phone,
        name: c.name.trim().to_string(),
        data,
        status: "pending".into(),
        attempts: 0,
    })
}

/// Rows of a CSV contact list, each named `row N` (the header is row 1).
fn from_csv(text: &str) -> ApiResult<Vec<(String, ApiResult<ContactBody>)>> {
    let records = csv::read(text).map_err(ApiError::bad_request)?;
    let mut records = records.into_iter();
    let header: Vec<String> = records
        .next()
        .ok_or_else(|| {
            ApiError::bad_request("the CSV is empty: a header row phone,name is needed")
        })?
        .fields
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let phone_at = header.iter().position(|h| h == "phone").ok_or_else(|| {
        ApiError::bad_request("the CSV header has no `phone` column (expected phone,name,...)")
    })?;
    let name_at = header.iter().position(|h| h == "name");
    for (i, h) in header.iter().enumerate() {
        if h.is_empty() || header.iter().take(i).any(|x| x == h) {
            return Err(ApiError::bad_request(format!(
                "the CSV header's column {} is empty or repeated",
                i + 1
            )));
        }
    }
    let mut rows = Vec::new();
    for r in records {
        let at = format!("row {}", r.number);
        if r.fields.len() != header.len() {
            let e = ApiError::bad_request(format!(
                "{} fields, the header has {}",
                r.fields.len(),
                header.len()
            ));
            rows.push((at, Err(e)));
            continue;
        }
        let mut data = serde_json::Map::new();
        for (i, h) in header.iter().enumerate() {
            if i != phone_at && Some(i) != name_at {
                let v = r.fields.get(i).cloned().unwrap_or_default();
                data.insert(h.clone(), serde_json::Value::String(v));
            }
        }
        let field = |i: usize| r.fields.get(i).cloned().unwrap_or_default();
        rows.push((
            at,
            Ok(ContactBody {
                phone: field(phone_at),
                name: name_at.map(field).unwrap_or_default(),
                data: Some(serde_json::Value::Object(data)),
            }),
        ));
    }
    Ok(rows)
}
