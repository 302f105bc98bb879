//! Collections and collection pages.

use super::json::{Obj, count, many};
use super::{Ctx, Ref, parse_ref};

/// The type of a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CollectionKind {
    /// `Collection`.
    Collection,
    /// `OrderedCollection`.
    OrderedCollection,
    /// `CollectionPage`.
    CollectionPage,
    /// `OrderedCollectionPage`.
    OrderedCollectionPage,
}

impl CollectionKind {
    pub(super) fn from_name(t: &str) -> Option<Self> {
        Some(match t {
            "Collection" => Self::Collection,
            "OrderedCollection" => Self::OrderedCollection,
            "CollectionPage" => Self::CollectionPage,
            "OrderedCollectionPage" => Self::OrderedCollectionPage,
            _ => return None,
        })
    }

    /// The type name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Collection => "Collection",
            Self::OrderedCollection => "OrderedCollection",
            Self::CollectionPage => "CollectionPage",
            Self::OrderedCollectionPage => "OrderedCollectionPage",
        }
    }
}

/// A collection or collection page.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    /// The collection's id. `None` for an anonymous collection: Mastodon embeds the
    /// first replies page without one, GoToSocial renders a followers collection
    /// without one.
    pub id: Option<String>,
    /// The collection's type.
    pub kind: CollectionKind,
    /// `totalItems` (an integer, or a numeric string), if published.
    pub total_items: Option<u64>,
    /// `first`: an IRI or an embedded page.
    pub first: Option<Ref>,
    /// `last`.
    pub last: Option<Ref>,
    /// `next`.
    pub next: Option<Ref>,
    /// `prev`.
    pub prev: Option<Ref>,
    /// `partOf` (pages).
    pub part_of: Option<Ref>,
    /// `orderedItems` then `items` (servers send either, GoToSocial a single IRI
    /// string): IRIs or embedded documents, at most `max_items` in all. Embedded items
    /// that cannot be read and have no id are dropped.
    pub items: Vec<Ref>,
}

impl Collection {
    pub(super) fn read(m: &Obj, id: Option<String>, kind: CollectionKind, ctx: Ctx) -> Self {
        let one = |k: &str| many(m.get(k), ctx.max_items).find_map(|x| parse_ref(x, ctx));
        Collection {
            id,
            kind,
            total_items: count(m.get("totalItems")),
            first: one("first"),
            last: one("last"),
            next: one("next"),
            prev: one("prev"),
            part_of: one("partOf"),
            items: many(m.get("orderedItems"), ctx.max_items)
                .chain(many(m.get("items"), ctx.max_items))
                .take(ctx.max_items)
                .filter_map(|x| parse_ref(x, ctx))
                .collect(),
        }
    }

    /// The ids of the items, in order.
    pub fn item_ids(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter_map(Ref::id)
    }

    /// The first page, if it was embedded.
    pub fn first_page(&self) -> Option<&Collection> {
        match self.first.as_ref()?.embedded()? {
            super::Document::Collection(c) => Some(c),
            _ => None,
        }
    }
}
