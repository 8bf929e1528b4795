//! The one table of routes: method, path, the least role that may call it,
//! and its handler. The router is built from it, and the OpenAPI test
//! compares it with `openapi.json`, so the two cannot drift apart.

use axum::routing::{on, MethodFilter, MethodRouter};

use super::state::ApiState;
use super::{
    admin, calls, contacts, desk, dialplans, handoffs, keys, live, recording, reports, status,
};
use crate::storage::Role;

/// An HTTP method the API serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
}

impl Verb {
    /// Upper-case name (`GET`).
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
            Verb::Delete => MethodFilter::DELETE,
        }
    }
}

type Handler = fn(MethodFilter) -> MethodRouter<ApiState>;

/// One route.
#[derive(Clone, Copy)]
pub struct Route {
    /// Its method.
    pub verb: Verb,
    /// Its path (`/api/calls/{id}`).
    pub path: &'static str,
    /// The least role that may call it; `None` for routes open to all.
    pub role: Option<Role>,
    handler: Handler,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({:?})", self.verb.as_str(), self.path, self.role)
    }
}

impl Route {
    /// The route's method router (without the role check).
    pub(super) fn method_router(&self) -> MethodRouter<ApiState> {
        (self.handler)(self.verb.filter())
    }

    /// The role as named in the OpenAPI document (`public` when open).
    pub fn role_name(&self) -> &'static str {
        self.role.map_or("public", Role::as_str)
    }
}

const fn r(verb: Verb, path: &'static str, role: Option<Role>, handler: Handler) -> Route {
    Route {
        verb,
        path,
        role,
        handler,
    }
}

use Role::{Admin, Agent, ReadOnly, Supervisor};
use Verb::{Delete, Get, Post, Put};

const READ: Option<Role> = Some(ReadOnly);
const SUPERVISOR: Option<Role> = Some(Supervisor);
const ADMIN: Option<Role> = Some(Admin);

/// Every route the API serves (the console's static files aside).
pub fn table() -> Vec<Route> {
    vec![
        r(Get, "/healthz", None, |m| on(m, status::healthz)),
        r(Get, "/readyz", None, |m| on(m, status::readyz)),
        r(Get, "/metrics", None, |m| on(m, status::metrics)),
        r(Get, "/api/openapi.json", None, |m| on(m, status::openapi)),
        r(Get, "/api/status", READ, |m| on(m, status::status)),
        r(Get, "/api/calls", READ, |m| on(m, calls::list)),
        r(Get, "/api/calls/{id}", READ, |m| on(m, calls::detail)),
        r(Get, "/api/calls/{id}/transcript", READ, |m| {
            on(m, calls::transcript)
        }),
        r(Get, "/api/calls/{id}/events", READ, |m| {
            on(m, calls::events)
        }),
        r(Get, "/api/calls/{id}/recording", READ, |m| {
            on(m, recording::get)
        }),
        r(Get, "/api/calls/{id}/qa", READ, |m| on(m, calls::qa)),
        r(Put, "/api/calls/{id}/qa", SUPERVISOR, |m| {
            on(m, calls::review)
        }),
        r(Post, "/api/calls/{id}/dispositions", Some(Agent), |m| {
            on(m, calls::dispose)
        }),
        r(Get, "/api/calls/{id}/handoffs", Some(Agent), |m| {
            on(m, handoffs::of_call)
        }),
        r(Get, "/api/handoffs/{id}", Some(Agent), |m| {
            on(m, handoffs::get)
        }),
        r(Post, "/api/agent/login", None, |m| on(m, desk::login)),
        r(Post, "/api/agent/logout", Some(Agent), |m| {
            on(m, desk::logout)
        }),
        r(Get, "/api/desk", Some(Agent), |m| on(m, desk::get)),
        r(Get, "/api/live", Some(Agent), |m| on(m, live::socket)),
        r(Post, "/api/agents/{id}/presence", Some(Agent), |m| {
            on(m, desk::presence)
        }),
        r(Post, "/api/agents/{id}/ready", Some(Agent), |m| {
            on(m, desk::ready)
        }),
        r(Get, "/api/agents", READ, |m| on(m, admin::agents)),
        r(Get, "/api/agents/{id}", READ, |m| on(m, admin::agent)),
        r(Put, "/api/agents/{id}", SUPERVISOR, |m| {
            on(m, admin::put_agent)
        }),
        r(Delete, "/api/agents/{id}", ADMIN, |m| {
            on(m, admin::delete_agent)
        }),
        r(Get, "/api/queues", READ, |m| on(m, admin::queues)),
        r(Get, "/api/queues/{name}", READ, |m| on(m, admin::queue)),
        r(Put, "/api/queues/{name}", SUPERVISOR, |m| {
            on(m, admin::put_queue)
        }),
        r(Delete, "/api/queues/{name}", ADMIN, |m| {
            on(m, admin::delete_queue)
        }),
        r(Get, "/api/campaigns", READ, |m| on(m, admin::campaigns)),
        r(Post, "/api/campaigns", SUPERVISOR, |m| {
            on(m, admin::create_campaign)
        }),
        r(Get, "/api/campaigns/{id}", READ, |m| on(m, admin::campaign)),
        r(Get, "/api/campaigns/{id}/contacts", READ, |m| {
            on(m, contacts::list)
        }),
        r(Post, "/api/campaigns/{id}/contacts", SUPERVISOR, |m| {
            on(m, contacts::add)
        }),
        r(Get, "/api/customers/{phone}", READ, |m| {
            on(m, admin::customer)
        }),
        r(Get, "/api/dialplans", READ, |m| on(m, dialplans::list)),
        r(Post, "/api/dialplans/validate", SUPERVISOR, |m| {
            on(m, dialplans::validate)
        }),
        r(Put, "/api/dialplans/{file}", ADMIN, |m| {
            on(m, dialplans::upload)
        }),
        r(Get, "/api/reports", READ, |m| on(m, reports::list)),
        r(Get, "/api/reports/{name}", READ, |m| on(m, reports::get)),
        r(Get, "/api/keys", ADMIN, |m| on(m, keys::list)),
        r(Post, "/api/keys", ADMIN, |m| on(m, keys::create)),
        r(Delete, "/api/keys/{id}", ADMIN, |m| on(m, keys::revoke)),
        r(Get, "/api/webhooks", ADMIN, |m| on(m, keys::webhooks)),
    ]
}
