//! Closed lists stored as text: a state enum is read straight from its column, with no
//! fallback. A word the enum does not know is an error on read (a 500 whose cause is logged)
//! and a breach `echelon audit` names ([`unknown_words`]).

use diesel::sql_types::Text;
use diesel::{QueryResult, QueryableByName, RunQueryDsl};

use super::DbConn;

/// An enum stored as one of its snake_case words.
pub trait StoredWord: Sized + Copy + 'static {
    /// The enum's name, for messages.
    const NAME: &'static str;
    fn word(self) -> &'static str;
    fn from_word(word: &str) -> Option<Self>;
    /// Every value the column may hold.
    fn words() -> Vec<&'static str>;
}

/// Makes enums with `ALL`, `as_str` and `parse` readable from a `Text` column on either
/// backend (and through `DbConn`'s multi-backend): `crate::db::stored_as_text!(Status);`.
/// Writes name the word (`status.eq(s.as_str())`); a derived `Insertable` field of the enum
/// takes `#[diesel(serialize_as = String)]`.
macro_rules! stored_as_text {
    ($($t:ident),+ $(,)?) => {$(
        impl $crate::db::text::StoredWord for $t {
            const NAME: &'static str = stringify!($t);
            fn word(self) -> &'static str {
                self.as_str()
            }
            fn from_word(word: &str) -> Option<Self> {
                $t::parse(word)
            }
            fn words() -> Vec<&'static str> {
                $t::ALL.iter().map(|x| x.as_str()).collect()
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $t
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let word = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                $crate::db::text::parse_word::<$t>(&word)
            }
        }

        impl From<$t> for String {
            fn from(value: $t) -> String {
                value.as_str().to_string()
            }
        }

        impl<DB> diesel::deserialize::Queryable<diesel::sql_types::Text, DB> for $t
        where
            DB: diesel::backend::Backend,
            $t: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            type Row = Self;
            fn build(row: Self) -> diesel::deserialize::Result<Self> {
                Ok(row)
            }
        }
    )+};
}
pub(crate) use stored_as_text;

/// The value a stored word names, or an error naming the word and the enum.
pub fn parse_word<T: StoredWord>(word: &str) -> diesel::deserialize::Result<T> {
    T::from_word(word).ok_or_else(|| format!("{} {word:?} is not one of {:?}", T::NAME, T::words()).into())
}

#[derive(QueryableByName)]
struct Stray {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Text)]
    word: String,
}

/// Rows of `table` whose `column` holds a word `T` does not know (NULL is left to the
/// schema), in words: `parts_requests 12: status "lost" is not a Status`.
pub fn unknown_words<T: StoredWord>(
    conn: &mut DbConn,
    table: &str,
    key: &str,
    column: &str,
) -> QueryResult<Vec<String>> {
    // the words are the enum's own snake_case literals, never input
    let known: Vec<String> = T::words().iter().map(|w| format!("'{w}'")).collect();
    let sql = format!(
        "SELECT CAST({key} AS TEXT) AS key, {column} AS word FROM {table} \
         WHERE {column} IS NOT NULL AND {column} NOT IN ({}) ORDER BY {key}",
        known.join(", ")
    );
    let rows: Vec<Stray> = diesel::sql_query(sql).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            format!(
                "{table} {}: {column} {:?} is not a {} ({})",
                r.key,
                r.word,
                T::NAME,
                T::words().join(", ")
            )
        })
        .collect())
}

/// For the enums' tests: each word of `T` reads back from a database (through `DbConn`) as the
/// value that wrote it, and a word `T` does not know is refused.
#[cfg(test)]
pub(crate) fn assert_stored_as_text<T>()
where
    T: StoredWord + PartialEq + std::fmt::Debug,
    T: diesel::deserialize::FromSqlRow<Text, <DbConn as diesel::Connection>::Backend>,
{
    use diesel::Connection;
    let mut conn = DbConn::Sqlite(diesel::SqliteConnection::establish(":memory:").unwrap());
    let read = |conn: &mut DbConn, word: &str| {
        diesel::select(diesel::dsl::sql::<Text>(&format!("'{word}'"))).get_result::<T>(conn)
    };
    for word in T::words() {
        let value = read(&mut conn, word).unwrap_or_else(|e| panic!("{} {word}: {e}", T::NAME));
        assert_eq!(value.word(), word);
        assert_eq!(T::from_word(word), Some(value));
    }
    let err = read(&mut conn, "no_such_state").expect_err("an unknown word is refused");
    assert!(err.to_string().contains("no_such_state"), "{err}");
    assert_eq!(T::from_word("no_such_state"), None);
}
