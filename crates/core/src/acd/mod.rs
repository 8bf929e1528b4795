//! Automatic call distribution: agents, queues of waiting callers, and the
//! decision of which agent is offered which caller. Sans-IO: the shell feeds
//! events with `now` and drains [`Acd::poll`].
//!
//! (Contract skeleton: filled in by the ACD implementation.)
