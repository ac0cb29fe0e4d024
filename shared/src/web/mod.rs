//! The HTTP surface: the router and `Ctx`, one module per surface, the HTML
//! templates, and how an error looks on each surface. Handlers parse the
//! request, call the domains (or a use case) with typed input, and render.

pub mod admin;
pub mod api;
pub mod csrf;
pub mod internal;
pub mod oauth;
pub mod openapi;
pub mod origin;
pub mod pages;
pub mod render;
pub mod request;
pub mod response;
pub mod router;
pub mod schema;
pub mod scim;
pub mod session;
pub mod ui;
