//! The Logs Insights queries in queries/ price with literals; they must
//! follow the price list when it changes (a new version means new queries).

use std::path::Path;
use zb_cost::PriceBook;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn every_query_names_the_price_list_version_and_uses_its_prices() {
    let book = PriceBook::load(&repo().join("pricing/us-east-1.json")).expect("price list");
    let per_unit = |p: zb_cost::pricing::UnitPrice| p.per_unit().normalize().to_string();
    let mut read = 0;
    for entry in std::fs::read_dir(repo().join("queries")).expect("queries/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|x| x != "logsinsights") {
            continue;
        }
        read += 1;
        let text = std::fs::read_to_string(&path).expect("query");
        let name = path.display();
        assert!(
            text.contains(&book.version),
            "{name} does not name price list {}",
            book.version
        );
        // The literals each query multiplies by, checked against the list.
        let literals = [
            ("0.0000002", per_unit(book.lambda_request)),
            ("0.0000166667", per_unit(book.lambda_gb_second_x86_64)),
            ("0.000000625", per_unit(book.dynamodb_write_unit)),
            ("0.000000125", per_unit(book.dynamodb_read_unit)),
            ("* 0.5 /", format!("* {} /", per_unit(book.logs_ingested_gb))),
        ];
        for (literal, price) in literals {
            if text.contains(literal) {
                assert_eq!(literal, price, "{name}: {literal} is not the listed price");
            }
        }
        let body: Vec<&str> = text.lines().filter(|l| !l.trim_start().starts_with('#')).collect();
        assert!(!body.is_empty(), "{name} has no query");
    }
    assert_eq!(read, 4, "queries/ should hold the four cost queries");
}
