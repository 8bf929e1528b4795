use kefu::signalling::check::{check, CheckConfig, Transport, Verdict};
use rsipstack::dialog::DialogId;
use rsipstack::sip::prelude::*;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transport::SipConnection;

#[test]
fn probe() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/sip-torture");
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    let cfg = CheckConfig { supported: &[], methods: &[] };
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let bytes = std::fs::read(dir.join(f[0])).unwrap();
        let v = check(&bytes, Transport::Udp, &cfg);
        let pass = match v { Verdict::Pass(b) => b, other => { println!("{:45} {:8} check: {:?}", f[0], f[5], other); continue; } };
        let out = match rsipstack::sip::SipMessage::try_from(pass) {
            Err(e) => format!("PARSE ERR {e}"),
            Ok(m) => {
                let m = match SipConnection::update_msg_received(m, "127.0.0.1:5060".parse().unwrap(), rsipstack::sip::transport::Transport::Udp) { Ok(m)=>m, Err(e)=> { println!("{:45} {:8} via upd ERR {e}", f[0], f[5]); continue; } };
                match m {
                    rsipstack::sip::SipMessage::Request(r) => {
                        let k = TransactionKey::from_request(&r, TransactionRole::Server).map(|k| k.to_string());
                        let d = DialogId::try_from((&r, TransactionRole::Server)).map(|d| d.to_string());
                        let from = r.from_header().map(|h| h.value().to_string());
                        let tag = r.from_header().and_then(|h| h.tag()).map(|t| t.map(|t| t.value().to_string()));
                        format!("key={:?} dlg={:?} from={:?} tag={:?}", k, d, from, tag)
                    }
                    rsipstack::sip::SipMessage::Response(_) => "response".into(),
                }
            }
        };
        println!("{:45} {:8} {}", f[0], f[5], out);
    }
}
