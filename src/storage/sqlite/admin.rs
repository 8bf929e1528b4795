//! Records kept by routing, campaigns and the API: agents, queues, queue
//! entries, agent legs, campaigns, contacts, dialling attempts and
//! customers with their tags.
//!
//! Queue entries and agent legs do not require their call to be recorded
//! yet: routing writes them as it goes, and reports join what exists.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{first, from_json, to_json, Ctx};
use crate::storage::{
    Agent, AgentLeg, Attempt, Campaign, Contact, Customer, Queue, QueueEntry, StoreError,
    StoreResult, QUEUE_STRATEGIES,
};

const QUEUE_RESULTS: [&str; 3] = ["answered", "abandoned", "overflow"];
const CAMPAIGN_STATUSES: [&str; 4] = ["draft", "running", "paused", "done"];
const CONTACT_STATUSES: [&str; 5] = ["pending", "calling", "done", "failed", "dnc"];
const ATTEMPT_RESULTS: [&str; 5] = ["answered", "no_answer", "busy", "failed", "machine"];

/// Fails with Invalid unless `value` is one of `allowed`.
fn check_one_of(what: &str, value: &str, allowed: &[&str]) -> StoreResult<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "{what} {value:?} is not one of {}",
            allowed.join(", ")
        )))
    }
}

fn check_present(what: &str, value: &str) -> StoreResult<()> {
    if value.is_empty() {
        Err(StoreError::Invalid(format!("{what} is empty")))
    } else {
        Ok(())
    }
}

/// Every agent, by id (with the stored HA1, which serialization skips).
pub(super) fn agents(conn: &Connection) -> StoreResult<Vec<Agent>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, name, uri, skills, languages, max_calls, levels, region, wrap_up_secs,
                 password_ha1
             FROM agents ORDER BY id",
        )
        .ctx("reading agents")?;
    let rows = stmt
        .query_and_then([], |r| {
            let skills: String = r.get(3)?;
            let languages: String = r.get(4)?;
            let levels: String = r.get(6)?;
            Ok(Agent {
                id: r.get(0)?,
                name: r.get(1)?,
                uri: r.get(2)?,
                skills: from_json(&skills, "agent skills")?,
                languages: from_json(&languages, "agent languages")?,
                max_calls: r.get(5)?,
                levels: from_json(&levels, "agent skill levels")?,
                region: r.get(7)?,
                wrap_up_secs: r.get(8)?,
                password_ha1: r.get(9)?,
            })
        })
        .ctx("reading agents")?;
    rows.collect()
}

/// Fails with Invalid unless every level is 1..=10.
fn check_levels(what: &str, levels: &BTreeMap<String, u8>) -> StoreResult<()> {
    match levels.iter().find(|(_, l)| !(1..=10).contains(*l)) {
        Some((skill, level)) => Err(StoreError::Invalid(format!(
            "{what} of {skill:?} is {level}, not 1..=10"
        ))),
        None => Ok(()),
    }
}

/// Fails with Invalid unless `ha1` is 32 hex digits.
pub(super) fn check_ha1(ha1: &str) -> StoreResult<()> {
    if ha1.len() == 32 && ha1.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(StoreError::Invalid(
            "password HA1 must be 32 hex digits (MD5 of id:realm:password)".into(),
        ))
    }
}

/// Creates or replaces an agent; the stored HA1 is kept when the agent
/// brings none.
pub(super) fn put_agent(tx: &Transaction<'_>, a: &Agent) -> StoreResult<()> {
    check_present("agent id", &a.id)?;
    check_levels("agent skill level", &a.levels)?;
    let ha1 = a.password_ha1.as_deref().map(str::to_ascii_lowercase);
    if let Some(h) = &ha1 {
        check_ha1(h)?;
    }
    tx.execute(
        "INSERT INTO agents (id, name, uri, skills, languages, max_calls, levels, region,
             wrap_up_secs, password_ha1)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, uri = excluded.uri,
             skills = excluded.skills, languages = excluded.languages,
             max_calls = excluded.max_calls, levels = excluded.levels,
             region = excluded.region, wrap_up_secs = excluded.wrap_up_secs,
             password_ha1 = COALESCE(excluded.password_ha1, agents.password_ha1)",
        params![
            a.id,
            a.name,
            a.uri,
            to_json(&a.skills, "skills")?,
            to_json(&a.languages, "languages")?,
            a.max_calls,
            to_json(&a.levels, "skill levels")?,
            a.region,
            a.wrap_up_secs,
            ha1
        ],
    )
    .ctx(&format!("saving agent {}", a.id))?;
    Ok(())
}

pub(super) fn delete_agent(tx: &Transaction<'_>, id: &str) -> StoreResult<()> {
    let n = tx
        .execute("DELETE FROM agents WHERE id = ?1", [id])
        .ctx(&format!("removing agent {id}"))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("agent {id}")));
    }
    Ok(())
}

/// Every queue, by name.
pub(super) fn queues(conn: &Connection) -> StoreResult<Vec<Queue>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT name, skills, max_wait_secs, strategy, levels, language_required, overflow,
                 announce_secs, ring_secs, empty_to_bot
             FROM queues ORDER BY name",
        )
        .ctx("reading queues")?;
    let rows = stmt
        .query_and_then([], |r| {
            let skills: String = r.get(1)?;
            let levels: String = r.get(4)?;
            Ok(Queue {
                name: r.get(0)?,
                skills: from_json(&skills, "queue skills")?,
                max_wait_secs: r.get(2)?,
                strategy: r.get(3)?,
                levels: from_json(&levels, "queue skill levels")?,
                language_required: r.get(5)?,
                overflow: r.get(6)?,
                announce_secs: r.get(7)?,
                ring_secs: r.get(8)?,
                empty_to_bot: r.get(9)?,
            })
        })
        .ctx("reading queues")?;
    rows.collect()
}

pub(super) fn put_queue(tx: &Transaction<'_>, q: &Queue) -> StoreResult<()> {
    check_present("queue name", &q.name)?;
    check_one_of("queue strategy", &q.strategy, &QUEUE_STRATEGIES)?;
    check_levels("queue minimum level", &q.levels)?;
    if let Some(overflow) = &q.overflow {
        let to_queue = overflow.strip_prefix("queue:");
        if overflow != "bot" && to_queue.is_none_or(str::is_empty) {
            return Err(StoreError::Invalid(format!(
                "queue overflow {overflow:?} is not \"bot\" or \"queue:NAME\""
            )));
        }
        if to_queue == Some(q.name.as_str()) {
            return Err(StoreError::Invalid(format!(
                "queue {} overflows to itself",
                q.name
            )));
        }
    }
    tx.execute(
        "INSERT INTO queues (name, skills, max_wait_secs, strategy, levels, language_required,
             overflow, announce_secs, ring_secs, empty_to_bot)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (name) DO UPDATE SET skills = excluded.skills,
             max_wait_secs = excluded.max_wait_secs, strategy = excluded.strategy,
             levels = excluded.levels, language_required = excluded.language_required,
             overflow = excluded.overflow, announce_secs = excluded.announce_secs,
             ring_secs = excluded.ring_secs, empty_to_bot = excluded.empty_to_bot",
        params![
            q.name,
            to_json(&q.skills, "skills")?,
            q.max_wait_secs,
            q.strategy,
            to_json(&q.levels, "skill levels")?,
            q.language_required,
            q.overflow,
            q.announce_secs,
            q.ring_secs,
            q.empty_to_bot
        ],
    )
    .ctx(&format!("saving queue {}", q.name))?;
    Ok(())
}

pub(super) fn delete_queue(tx: &Transaction<'_>, name: &str) -> StoreResult<()> {
    let n = tx
        .execute("DELETE FROM queues WHERE name = ?1", [name])
        .ctx(&format!("removing queue {name}"))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("queue {name}")));
    }
    Ok(())
}

pub(super) fn put_queue_entry(tx: &Transaction<'_>, e: &QueueEntry) -> StoreResult<()> {
    check_present("queue entry call id", &e.call_id)?;
    check_present("queue entry queue", &e.queue)?;
    if let Some(result) = &e.result {
        check_one_of("queue result", result, &QUEUE_RESULTS)?;
    }
    tx.execute(
        "INSERT INTO queue_entries (call_id, queue, entered_at, left_at, result, agent_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (call_id, queue) DO UPDATE SET entered_at = excluded.entered_at,
             left_at = excluded.left_at, result = excluded.result,
             agent_id = excluded.agent_id",
        params![
            e.call_id,
            e.queue,
            e.entered_at,
            e.left_at,
            e.result,
            e.agent_id
        ],
    )
    .ctx(&format!(
        "recording call {} in queue {}",
        e.call_id, e.queue
    ))?;
    Ok(())
}

pub(super) fn put_agent_leg(tx: &Transaction<'_>, l: &AgentLeg) -> StoreResult<()> {
    check_present("agent leg call id", &l.call_id)?;
    check_present("agent leg agent id", &l.agent_id)?;
    tx.execute(
        "INSERT INTO agent_legs (call_id, agent_id, started_at, ended_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (call_id, agent_id) DO UPDATE SET started_at = excluded.started_at,
             ended_at = excluded.ended_at",
        params![l.call_id, l.agent_id, l.started_at, l.ended_at],
    )
    .ctx(&format!(
        "recording agent {}'s leg of call {}",
        l.agent_id, l.call_id
    ))?;
    Ok(())
}

/// Every campaign, oldest first.
pub(super) fn campaigns(conn: &Connection) -> StoreResult<Vec<Campaign>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, name, dialplan, status, created_at FROM campaigns
             ORDER BY created_at, id",
        )
        .ctx("reading campaigns")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Campaign {
                id: r.get(0)?,
                name: r.get(1)?,
                dialplan: r.get(2)?,
                status: r.get(3)?,
                created_at: r.get(4)?,
            })
        })
        .ctx("reading campaigns")?;
    rows.map(|c| c.ctx("reading a campaign")).collect()
}

pub(super) fn put_campaign(tx: &Transaction<'_>, c: &Campaign) -> StoreResult<()> {
    check_present("campaign id", &c.id)?;
    check_one_of("campaign status", &c.status, &CAMPAIGN_STATUSES)?;
    tx.execute(
        "INSERT INTO campaigns (id, name, dialplan, status, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, dialplan = excluded.dialplan,
             status = excluded.status",
        params![c.id, c.name, c.dialplan, c.status, c.created_at],
    )
    .ctx(&format!("saving campaign {}", c.id))?;
    Ok(())
}

fn require_campaign(conn: &Connection, id: &str) -> StoreResult<()> {
    let found: Option<i64> = conn
        .query_row("SELECT 1 FROM campaigns WHERE id = ?1", [id], |r| r.get(0))
        .optional()
        .ctx("looking up a campaign")?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::NotFound(format!("campaign {id}")))
}

/// Adds contacts (their `id` is ignored) and returns the new ids in order.
pub(super) fn add_contacts(tx: &Transaction<'_>, contacts: &[Contact]) -> StoreResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(contacts.len());
    for (i, c) in contacts.iter().enumerate() {
        require_campaign(tx, &c.campaign_id)?;
        check_present(&format!("contact {} phone", i + 1), &c.phone)?;
        check_one_of("contact status", &c.status, &CONTACT_STATUSES)?;
        let data = to_json(&c.data, "contact data")?;
        tx.prepare_cached(
            "INSERT INTO contacts (campaign_id, phone, name, data, status, attempts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut s| {
            s.execute(params![
                c.campaign_id,
                c.phone,
                c.name,
                data,
                c.status,
                c.attempts
            ])
        })
        .ctx(&format!("adding contact {}", i + 1))?;
        ids.push(tx.last_insert_rowid());
    }
    Ok(ids)
}

/// A campaign's contacts, in the order added.
pub(super) fn contacts(conn: &Connection, campaign: &str) -> StoreResult<Vec<Contact>> {
    require_campaign(conn, campaign)?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, phone, name, data, status, attempts FROM contacts
             WHERE campaign_id = ?1 ORDER BY id",
        )
        .ctx("reading contacts")?;
    let rows = stmt
        .query_and_then([campaign], |r| {
            let data: String = r.get(3)?;
            Ok(Contact {
                id: r.get(0)?,
                campaign_id: campaign.to_owned(),
                phone: r.get(1)?,
                name: r.get(2)?,
                data: from_json(&data, "contact data")?,
                status: r.get(4)?,
                attempts: r.get(5)?,
            })
        })
        .ctx("reading contacts")?;
    rows.collect()
}

/// Records an attempt and recounts the contact's attempts.
pub(super) fn put_attempt(tx: &Transaction<'_>, a: &Attempt) -> StoreResult<()> {
    if let Some(result) = &a.result {
        check_one_of("attempt result", result, &ATTEMPT_RESULTS)?;
    }
    let owner: Option<String> = tx
        .query_row(
            "SELECT campaign_id FROM contacts WHERE id = ?1",
            [a.contact_id],
            |r| r.get(0),
        )
        .optional()
        .ctx("looking up a contact")?;
    if owner.as_deref() != Some(a.campaign_id.as_str()) {
        return Err(StoreError::NotFound(format!(
            "contact {} of campaign {}",
            a.contact_id, a.campaign_id
        )));
    }
    tx.execute(
        "INSERT INTO attempts (campaign_id, contact_id, call_id, started_at, ended_at, result)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (campaign_id, contact_id, started_at) DO UPDATE SET
             call_id = excluded.call_id, ended_at = excluded.ended_at, result = excluded.result",
        params![
            a.campaign_id,
            a.contact_id,
            a.call_id,
            a.started_at,
            a.ended_at,
            a.result
        ],
    )
    .ctx(&format!("recording an attempt at contact {}", a.contact_id))?;
    tx.execute(
        "UPDATE contacts SET attempts = (SELECT COUNT(*) FROM attempts WHERE contact_id = ?1)
         WHERE id = ?1",
        [a.contact_id],
    )
    .ctx("counting the contact's attempts")?;
    Ok(())
}

/// A customer by phone number.
pub(super) fn customer(conn: &Connection, phone: &str) -> StoreResult<Customer> {
    let found = first(
        conn,
        "SELECT name, vip_level, region, calls, first_seen, last_seen,
             (SELECT json_group_array(tag ORDER BY id) FROM customer_tags WHERE phone = ?1)
         FROM customers WHERE phone = ?1",
        [phone],
        |r| {
            let tags: String = r.get(6)?;
            Ok(Customer {
                phone: phone.to_owned(),
                name: r.get(0)?,
                vip_level: r.get(1)?,
                region: r.get(2)?,
                tags: from_json(&tags, "customer tags")?,
                calls: r.get(3)?,
                first_seen: r.get(4)?,
                last_seen: r.get(5)?,
            })
        },
        "reading a customer",
    )?;
    found.ok_or_else(|| StoreError::NotFound(format!("customer {phone}")))
}

/// Creates or updates a customer: name, VIP level and region are replaced,
/// tags are added to those already known. Call counts are kept by calls;
/// the given ones only seed a new record.
pub(super) fn put_customer(tx: &Transaction<'_>, c: &Customer) -> StoreResult<()> {
    check_present("customer phone", &c.phone)?;
    tx.execute(
        "INSERT INTO customers (phone, name, vip_level, region, calls, first_seen, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (phone) DO UPDATE SET name = excluded.name,
             vip_level = excluded.vip_level, region = excluded.region",
        params![
            c.phone,
            c.name,
            c.vip_level,
            c.region,
            c.calls,
            c.first_seen,
            c.last_seen
        ],
    )
    .ctx(&format!("saving customer {}", c.phone))?;
    for tag in c.tags.iter().filter(|t| !t.is_empty()) {
        tx.prepare_cached(
            "INSERT INTO customer_tags (phone, tag) VALUES (?1, ?2)
             ON CONFLICT (phone, tag) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![c.phone, tag]))
        .ctx("tagging the customer")?;
    }
    Ok(())
}
