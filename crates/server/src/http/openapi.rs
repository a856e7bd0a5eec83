//! The OpenAPI document's frame: info, the bearer security scheme, shared schemas. Paths are
//! added by each resource's router (`utoipa_axum`), so the document lists exactly what is
//! served.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::{Modify, OpenApi as _};

use super::consistency::Accepted;
use super::problem::Problem;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "pawpost messaging API",
        description = "Conversations and messages of the pet-services marketplace. Every error \
                       is application/problem+json with a stable `code`.",
    ),
    components(schemas(Problem, Accepted)),
    modifiers(&Bearer),
    security(("bearer" = [])),
)]
struct Doc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document before the routes add their paths.
pub fn base() -> OpenApi {
    Doc::openapi()
}
