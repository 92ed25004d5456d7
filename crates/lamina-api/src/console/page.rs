//! The page shell every console page shares: head, header (account, sign out), navigation,
//! and the alert that shows an error in AWS's own words.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::session::Session;

/// A whole page: `title` in the tab and as the heading, `body` below it.
pub(super) fn page(session: Option<&Session>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " - Lamina" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/console/functions" { "Lamina" }
                    @if let Some(s) = session {
                        nav aria-label="Main" {
                            a href="/console/functions" { "Functions" }
                            a href="/console/layers" { "Layers" }
                        }
                        span.account { "Account " span #account-id { (s.scope.account) } " · " (s.scope.region) }
                        @if s.access_key_id.is_some() {
                            form.inline method="post" action="/console/sign-out" {
                                (csrf_field(s))
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The hidden field that carries the session's CSRF token.
pub(super) fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// An error message, announced to screen readers.
pub(super) fn alert(message: &str) -> Markup {
    html! { div.alert role="alert" { (message) } }
}

/// The HTTP status of an AWS error, for the page that shows it.
pub(super) fn status_of(e: &lamina_types::LambdaError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// `markup` as an HTML response with `status`.
pub(super) fn respond(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// `markup` as a 200 HTML response.
pub(super) fn ok(markup: Markup) -> Response {
    respond(StatusCode::OK, markup)
}
