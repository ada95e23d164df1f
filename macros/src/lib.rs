//! `#[derive(Validate)]`: the limits a body or query documents are the limits it is held to.
//!
//! The derive reads the same attributes utoipa turns into the OpenAPI schema, `#[schema(..)]`
//! on a body's fields and `#[param(..)]` on a query's: `min_length`, `max_length` (counted in
//! characters), `min_items`, `max_items`, `minimum` and `maximum`. A limit is therefore written
//! once, beside the field, and both the document and the check come from it. Field names follow
//! `#[serde(rename = "..")]`; a `#[serde(flatten)]` field is checked as part of its parent; a
//! `#[serde(skip)]` one not at all. On an enum the derive checks nothing (its words are checked
//! by serde).
//!
//! Rules beyond limits (a code's form, a date after another, a text that is only spaces) go in
//! one function named on the struct, `#[validate(rules = path::to::fn)]`, called after the
//! fields' limits with the same path and error list, so a body's every fault is reported at once:
//! `fn rules(value: &T, at: &str, errors: &mut Vec<FieldError>)`.
//!
//! The generated code implements `crate::validate::Validate`, so it is meant for the
//! echelon crate itself.

use proc_macro::TokenStream;
use proc_macro2::{Delimiter, Spacing, TokenStream as Tokens, TokenTree};
use quote::quote;
use syn::{parse_macro_input, Attribute, Data, DeriveInput, Expr, Fields};

#[proc_macro_derive(Validate, attributes(validate))]
pub fn derive_validate(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    let rules = container_rules(&input.attrs)?;
    let checks = match &input.data {
        Data::Enum(_) => Vec::new(),
        Data::Struct(s) => {
            let Fields::Named(named) = &s.fields else {
                return Err(syn::Error::new_spanned(
                    name,
                    "Validate: a struct with named fields, or an enum",
                ));
            };
            let mut checks = Vec::new();
            for field in &named.named {
                let ident = field.ident.as_ref().expect("named field");
                let field_attrs = FieldAttrs::read(&field.attrs)?;
                if field_attrs.skip {
                    continue;
                }
                if field_attrs.flatten {
                    checks.push(quote! {
                        crate::validate::Validate::check(
                            &self.#ident, at, &crate::validate::Limits::NONE, errors);
                    });
                    continue;
                }
                let wire = field_attrs
                    .rename
                    .unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_string());
                let limits = field_attrs.limits.tokens();
                checks.push(quote! {
                    crate::validate::Validate::check(
                        &self.#ident,
                        &crate::validate::join(at, #wire),
                        &#limits,
                        errors,
                    );
                });
            }
            checks
        }
        Data::Union(_) => return Err(syn::Error::new_spanned(name, "Validate: not for unions")),
    };
    Ok(quote! {
        impl #impl_generics crate::validate::Validate for #name #type_generics #where_clause {
            fn check(
                &self,
                at: &str,
                _limits: &crate::validate::Limits,
                errors: &mut ::std::vec::Vec<crate::error::FieldError>,
            ) {
                let _ = (&at, &errors);
                #(#checks)*
                #(#rules(self, at, errors);)*
            }
        }
    })
}

/// The functions named by `#[validate(rules = path)]` on the type.
fn container_rules(attrs: &[Attribute]) -> syn::Result<Vec<syn::Path>> {
    let mut out = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("validate")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rules") {
                out.push(meta.value()?.parse::<syn::Path>()?);
                Ok(())
            } else {
                Err(meta.error("expected `rules = path::to::fn`"))
            }
        })?;
    }
    Ok(out)
}

#[derive(Default)]
struct Limits {
    min_length: Option<Expr>,
    max_length: Option<Expr>,
    min_items: Option<Expr>,
    max_items: Option<Expr>,
    minimum: Option<Expr>,
    maximum: Option<Expr>,
}

impl Limits {
    fn tokens(&self) -> Tokens {
        fn count(e: &Option<Expr>) -> Tokens {
            match e {
                Some(e) => quote! { ::std::option::Option::Some((#e) as usize) },
                None => quote! { ::std::option::Option::None },
            }
        }
        fn number(e: &Option<Expr>) -> Tokens {
            match e {
                Some(e) => quote! { ::std::option::Option::Some((#e) as f64) },
                None => quote! { ::std::option::Option::None },
            }
        }
        let (min_length, max_length) = (count(&self.min_length), count(&self.max_length));
        let (min_items, max_items) = (count(&self.min_items), count(&self.max_items));
        let (minimum, maximum) = (number(&self.minimum), number(&self.maximum));
        quote! {
            crate::validate::Limits {
                min_length: #min_length,
                max_length: #max_length,
                min_items: #min_items,
                max_items: #max_items,
                minimum: #minimum,
                maximum: #maximum,
            }
        }
    }
}

#[derive(Default)]
struct FieldAttrs {
    rename: Option<String>,
    flatten: bool,
    skip: bool,
    limits: Limits,
}

impl FieldAttrs {
    fn read(attrs: &[Attribute]) -> syn::Result<FieldAttrs> {
        let mut out = FieldAttrs::default();
        for attr in attrs {
            let path = attr.path();
            let kind = if path.is_ident("serde") {
                Kind::Serde
            } else if path.is_ident("schema") || path.is_ident("param") {
                Kind::Schema
            } else {
                continue;
            };
            let list = attr.meta.require_list()?;
            for (key, value) in entries(list.tokens.clone()) {
                match (kind, key.as_str()) {
                    (Kind::Serde, "flatten") => out.flatten = true,
                    (Kind::Serde, "skip" | "skip_deserializing") => out.skip = true,
                    (Kind::Serde, "rename") => {
                        if let Some(v) = value {
                            let lit: syn::LitStr = syn::parse2(v)?;
                            out.rename = Some(lit.value());
                        }
                    }
                    (Kind::Schema, "min_length") => out.limits.min_length = expr(value)?,
                    (Kind::Schema, "max_length") => out.limits.max_length = expr(value)?,
                    (Kind::Schema, "min_items") => out.limits.min_items = expr(value)?,
                    (Kind::Schema, "max_items") => out.limits.max_items = expr(value)?,
                    (Kind::Schema, "minimum") => out.limits.minimum = expr(value)?,
                    (Kind::Schema, "maximum") => out.limits.maximum = expr(value)?,
                    _ => {}
                }
            }
        }
        Ok(out)
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Serde,
    Schema,
}

fn expr(value: Option<Tokens>) -> syn::Result<Option<Expr>> {
    value.map(syn::parse2).transpose()
}

/// The `key` or `key = value` entries of an attribute's list, split at the commas outside any
/// group or angle brackets (`value_type = HashMap<String, i64>` is one entry); an entry whose
/// key is followed by a group (`examples(..)`) has no value.
fn entries(tokens: Tokens) -> Vec<(String, Option<Tokens>)> {
    let mut parts: Vec<Vec<TokenTree>> = vec![Vec::new()];
    let mut angle = 0i32;
    for tt in tokens {
        if let TokenTree::Punct(p) = &tt {
            match p.as_char() {
                '<' => angle += 1,
                // `->` is not a closing bracket
                '>' if !matches!(parts.last().and_then(|p| p.last()), Some(TokenTree::Punct(q)) if q.as_char() == '-' && q.spacing() == Spacing::Joint) => {
                    angle -= 1
                }
                ',' if angle <= 0 => {
                    parts.push(Vec::new());
                    continue;
                }
                _ => {}
            }
        }
        parts.last_mut().expect("one part").push(tt);
    }
    parts
        .into_iter()
        .filter_map(|part| {
            let mut it = part.into_iter();
            let key = match it.next()? {
                TokenTree::Ident(i) => i.to_string(),
                _ => return None,
            };
            let rest: Vec<TokenTree> = it.collect();
            let value = match rest.first() {
                Some(TokenTree::Punct(p)) if p.as_char() == '=' => Some(rest[1..].iter().cloned().collect()),
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => None,
                _ => None,
            };
            Some((key, value))
        })
        .collect()
}
