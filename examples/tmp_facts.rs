fn main() {
    let fs = virtprobe::host::HostFs::live();
    let needs = virtprobe::rules::Table::embedded().needs();
    let p = virtprobe::probe::probe(&fs, &virtprobe::probe::live::Native, &needs);
    let mut n = 0;
    for (k, f) in p.facts.iter() {
        n += 1;
        let v = match &f.value {
            Ok(v) => format!("{v}"),
            Err(e) => format!("ERR {e}"),
        };
        println!("{k} = {} [{}]", &v[..v.len().min(60)], f.source);
    }
    eprintln!("{n} facts");
}
