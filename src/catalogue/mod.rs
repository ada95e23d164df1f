//! The catalogue (spec section 3): parts with self-checking codes, product models with their
//! warranty terms, compatibility (the bill of service parts), product units sold with their
//! factory inspection records, the installed base, and CSV import/export.
//!
//! The public surface other domains use:
//! - [`resolve_part_code`]: the one validation path for a part code from a client (422 with
//!   ranked `suggestions`, restricted to a model's parts when one is in context);
//! - [`resolve_successor`]: the final successor of a superseded part, which serves requests;
//! - [`check_compatible`]: 422 `incompatible_part` with the compatible alternatives;
//! - [`fitting`] and [`compatible_parts`]: whether a part (or a successor of a compatible one)
//!   fits a model, and the model's parts of a family;
//! - [`installed_base`]: units in service per model per region.

pub mod api;
mod audit;
pub mod codes;
pub mod resolve;
pub mod rules;
pub mod seed;
pub mod store;
pub mod transfer;

pub use audit::run as audit;
pub use codes::PartCode;
pub use resolve::{
    catalogue_code, check_compatible, compatible_parts, fitting, resolve_part_code, resolve_successor,
    Supersession,
};
pub use store::parts::PartRow;
pub use store::units::{installed_base, InstalledBase};

pub fn routes<C: crate::http::Mount>(cfg: &mut C) {
    // the fixed paths before `/parts/{code}`
    cfg.service(api::transfer::export_parts)
        .service(api::transfer::import_parts)
        .service(api::parts::list_parts)
        .service(api::parts::create_part)
        .service(api::parts::get_part)
        .service(api::parts::patch_part)
        .service(api::models::list_models)
        .service(api::models::create_model)
        .service(api::models::get_model)
        .service(api::models::patch_model)
        .service(api::compat::model_parts)
        .service(api::compat::add_model_parts)
        .service(api::units::list_units)
        .service(api::units::create_unit)
        .service(api::units::get_unit)
        .service(api::units::installed_base);
}
