//! States read back from the database: a status the code does not know is never turned into a
//! guessed state. Reading the row fails (500, the cause logged) and the audit names the row.

use diesel::RunQueryDsl;

use crate::both;
use crate::helpers::TestApp;
use crate::tickets::{intake, ticket, UNIT};

/// Writes a ticket's status straight into the database, past every rule.
async fn set_ticket_status(app: &TestApp, id: i64, status: &'static str) {
    app.state
        .db
        .write(move |conn| {
            diesel::sql_query(format!("UPDATE tickets SET status = '{status}' WHERE id = {id}"))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

both!(an_unknown_ticket_status_is_refused_on_read_and_named_by_the_audit, |app| async {
    let id = intake(&app, "agent", ticket(UNIT, Some("CMP"), "repair", "normal", None)).await;
    set_ticket_status(&app, id, "mislaid").await;

    app.get(&format!("/api/v1/tickets/{id}"), Some("agent")).await.problem(500);
    let breaches = app.state.db.read(|conn| Ok(echelon::audit::run(conn)?)).await.expect("the audit runs");
    let named = format!("tickets {id}: status \"mislaid\" is not a Status (open, quoted, ");
    assert!(breaches.iter().any(|b| b.starts_with(&named)), "{breaches:#?}");

    // put it back, so the audit at the end is clean
    set_ticket_status(&app, id, "open").await;
});
