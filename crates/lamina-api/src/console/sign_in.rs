//! Signing in with an access key id and secret, and signing out.

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::page::{alert, ok, page, respond};
use super::session::{Session, Sessions, cleared_cookie};
use crate::AppState;
use crate::auth::AuthMode;

const NOT_VALID: &str = "The access key ID or secret access key is not valid.";

fn form(error: Option<&str>, key: &str) -> maud::Markup {
    page(
        None,
        "Sign in",
        html! {
            section {
                p.hint { "Sign in with an access key of this server (" code { "lamina account keys create" } " makes one)." }
                @if let Some(e) = error { (alert(e)) }
                form method="post" action="/console/sign-in" {
                    label for="access_key_id" { "Access key ID" }
                    input #access_key_id type="text" name="access_key_id" value=(key) autocomplete="username" required autofocus;
                    label for="secret_access_key" { "Secret access key" }
                    input #secret_access_key type="password" name="secret_access_key" autocomplete="current-password" required;
                    div.actions { button type="submit" { "Sign in" } }
                }
            }
        },
    )
}

/// `GET /console/sign-in`.
pub(super) async fn show(State(state): State<Arc<AppState>>) -> Response {
    if matches!(state.auth, AuthMode::None) {
        return Redirect::to("/console/functions").into_response();
    }
    ok(form(None, ""))
}

#[derive(Deserialize)]
pub(super) struct Credentials {
    access_key_id: String,
    secret_access_key: String,
}

/// `POST /console/sign-in`: checks the secret (in constant time) and starts a session.
pub(super) async fn submit(
    State(state): State<Arc<AppState>>,
    Form(c): Form<Credentials>,
) -> Response {
    let AuthMode::SigV4(keys) = &state.auth else {
        return Redirect::to("/console/functions").into_response();
    };
    let key = c.access_key_id.trim();
    let Some(credential) = keys.store().lookup_fresh(key).await else {
        return respond(StatusCode::UNAUTHORIZED, form(Some(NOT_VALID), key));
    };
    if !bool::from(
        credential
            .secret
            .as_bytes()
            .ct_eq(c.secret_access_key.as_bytes()),
    ) {
        return respond(StatusCode::UNAUTHORIZED, form(Some(NOT_VALID), key));
    }
    let cookie = Sessions::for_server(&state).issue(key, &credential.account);
    let mut response = Redirect::to("/console/functions").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    csrf: String,
}

/// `POST /console/sign-out`.
pub(super) async fn sign_out(session: Session, Form(f): Form<CsrfOnly>) -> Response {
    if !session.csrf_matches(&f.csrf) {
        return super::forbidden();
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    if let Ok(v) = HeaderValue::from_str(&cleared_cookie()) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}
