//! The one form layout every managed-login page uses: title, messages, fields, CSRF token, a
//! submit button and links, posted back to the page with the authorize parameters in its query.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use userpool_core::directory::PoolView;
use userpool_core::oauth::authorize::AuthorizeParams;

use crate::html::{self, escape};
use crate::session;
use crate::state::AppState;

/// A page of the flow, with the authorize parameters and `extra` values in its query.
pub(crate) fn page_url(path: &str, params: &AuthorizeParams, extra: &[(&str, &str)]) -> String {
    let mut q = params.to_query();
    for (k, v) in extra {
        let pair: String = form_urlencoded::Serializer::new(String::new())
            .append_pair(k, v)
            .finish();
        if !q.is_empty() {
            q.push('&');
        }
        q.push_str(&pair);
    }
    format!("{path}?{q}")
}

/// An input and its label.
pub(crate) struct Field<'a> {
    pub(crate) name: &'a str,
    pub(crate) label: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) value: &'a str,
    pub(crate) autocomplete: &'a str,
}

impl Field<'_> {
    fn html(&self, autofocus: bool, described: bool) -> String {
        let extra = match self.kind {
            "text" | "email" => r#" autocapitalize="none" spellcheck="false""#,
            "code" => r#" inputmode="numeric" pattern="[0-9]*" maxlength="6""#,
            _ => "",
        };
        let kind = if self.kind == "code" {
            "text"
        } else {
            self.kind
        };
        format!(
            r#"<label for="{name}">{label}</label>
<input type="{kind}" id="{name}" name="{name}" value="{value}" autocomplete="{ac}" required{extra}{focus}{desc}>
"#,
            name = escape(self.name),
            label = escape(self.label),
            value = escape(self.value),
            ac = escape(self.autocomplete),
            focus = if autofocus { " autofocus" } else { "" },
            desc = if described {
                r#" aria-describedby="error""#
            } else {
                ""
            },
        )
    }
}

/// A page of the sign-in flow.
pub(crate) struct FormPage<'a> {
    pub(crate) title: &'a str,
    /// The path the form posts to (the authorize parameters are appended).
    pub(crate) action: &'a str,
    pub(crate) intro: Option<&'a str>,
    /// Extra HTML shown before the fields (already escaped).
    pub(crate) extra_html: Option<String>,
    pub(crate) fields: Vec<Field<'a>>,
    /// Hidden values carried with the form.
    pub(crate) hidden: Vec<(&'a str, &'a str)>,
    pub(crate) submit: &'a str,
    /// `(label, href)` links, made with [`page_url`].
    pub(crate) links: Vec<(&'a str, String)>,
    pub(crate) error: Option<&'a str>,
    pub(crate) notice: Option<&'a str>,
}

impl FormPage<'_> {
    /// Renders the page, setting the CSRF cookie when the browser has none.
    pub(crate) fn render(
        self,
        state: &AppState,
        view: &PoolView,
        headers: &HeaderMap,
        params: &AuthorizeParams,
    ) -> Response {
        let (cookie_value, set) = session::csrf_cookie(state, headers);
        let csrf = session::csrf_token(state, &cookie_value);
        let query = escape(&params.to_query());
        let mut body = format!(
            "<p class=\"brand\">{}</p>\n<h1>{}</h1>\n",
            escape(&view.pool.config.pool_name),
            escape(self.title)
        );
        if let Some(e) = self.error {
            body.push_str(&format!(
                "<p role=\"alert\" class=\"alert\" id=\"error\">{}</p>\n",
                escape(e)
            ));
        }
        if let Some(n) = self.notice {
            body.push_str(&format!(
                "<p role=\"status\" class=\"notice\">{}</p>\n",
                escape(n)
            ));
        }
        if let Some(i) = self.intro {
            body.push_str(&format!("<p>{}</p>\n", escape(i)));
        }
        if let Some(x) = &self.extra_html {
            body.push_str(x);
        }
        // A page with no fields (a client with only outside providers) has no form.
        if !self.fields.is_empty() {
            body.push_str(&format!(
                "<form method=\"post\" action=\"{}?{query}\" novalidate>\n<input type=\"hidden\" name=\"_csrf\" value=\"{}\">\n",
                escape(self.action),
                escape(&csrf)
            ));
            for (k, v) in &self.hidden {
                body.push_str(&format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                    escape(k),
                    escape(v)
                ));
            }
            let first_empty = self
                .fields
                .iter()
                .position(|f| f.value.is_empty())
                .unwrap_or(0);
            for (i, f) in self.fields.iter().enumerate() {
                body.push_str(&f.html(i == first_empty, self.error.is_some()));
            }
            body.push_str(&format!(
                "<button type=\"submit\">{}</button>\n</form>\n",
                escape(self.submit)
            ));
        }
        if !self.links.is_empty() {
            body.push_str("<p class=\"links\">");
            let links: Vec<String> = self
                .links
                .iter()
                .map(|(label, href)| format!("<a href=\"{}\">{}</a>", escape(href), escape(label)))
                .collect();
            body.push_str(&links.join(" · "));
            body.push_str("</p>\n");
        }
        let status = if self.error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        let mut r = html::page(status, self.title, &body);
        if let Some(c) = set {
            r.headers_mut().append(header::SET_COOKIE, c);
        }
        r
    }
}
