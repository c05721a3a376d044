use crate::parse::parse_program;

#[test]
fn explore() {
    for src in std::fs::read_to_string("/tmp/explore.txt").unwrap().split("\n----\n") {
        println!("=== {src}\n{:?}", parse_program(src));
    }
}
