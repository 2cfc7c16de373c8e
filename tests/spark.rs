//! The Spark job (spark/wormtrace_spark.py) against one `wormtrace scan` of the same files:
//! in local mode, and on a standalone cluster of one master and two workers that the test
//! starts and always stops, with a task killed on its first attempt. Loopback only.
//!
//! Needs Java 17 and the pinned PySpark (`.ci/run` installs both; the virtualenv is
//! `target/tmp/spark-venv`, made by tests/venv.sh from spark/requirements.txt).

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Ranges of about this size: the one large log becomes several tasks.
const SPLIT_SIZE: u64 = 40_000_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv_python() -> PathBuf {
    let venv = root().join("target/tmp/spark-venv");
    let status = Command::new("bash")
        .arg(root().join("tests/venv.sh"))
        .arg(&venv)
        .arg(root().join("spark/requirements.txt"))
        .status()
        .expect("bash runs");
    assert!(status.success(), "the PySpark virtualenv could not be made");
    venv.join("bin/python")
}

/// A W3C block of `lines` lines whose clients depend on `block`, with Code Red II, Code Red
/// and Nimda requests among benign ones; `moved` puts the client address after the query
/// (the layout of the log's second `#Fields`).
fn w3c_block(block: u64, lines: u64, moved: bool) -> String {
    let mut out = String::with_capacity(lines as usize * 100);
    for n in 0..lines {
        let (stem, query) = match n % 1009 {
            17 => ("/default.ida", common::worm_query('X')),
            401 => ("/default.ida", common::worm_query('N')),
            777 => ("/scripts/root.exe", "/c+dir".to_string()),
            _ => ("/index.html", "-".to_string()),
        };
        let day = 4 + block % 3;
        let time = format!("{:02}:{:02}:{:02}", n / 3600 % 24, n / 60 % 60, n % 60);
        let client = format!("198.51.{}.{}", block % 250, n % 200);
        let line = if moved {
            format!("2001-08-{day:02} {time} GET {stem} {query} {client} 404\n")
        } else {
            format!("2001-08-{day:02} {time} {client} GET {stem} {query} 404\n")
        };
        out.push_str(&line);
    }
    out
}

/// An NCSA block, the same mix.
fn ncsa_block(block: u64, lines: u64) -> String {
    let mut out = String::with_capacity(lines as usize * 100);
    for n in 0..lines {
        let target = match n % 1013 {
            29 => format!("/default.ida?{}", common::worm_query('X')),
            503 => "/scripts/..%c1%1c../winnt/system32/cmd.exe?/c+dir".to_string(),
            _ => "/".to_string(),
        };
        out.push_str(&format!(
            "203.0.{}.{} - - [05/Aug/2001:{:02}:{:02}:{:02} +0900] \"GET {target} HTTP/1.0\" 404 0\n",
            block % 250,
            n % 200,
            n / 3600 % 24,
            n / 60 % 60,
            n % 60
        ));
    }
    out
}

/// About 300 MB: one W3C log above the split size whose layout changes midway, plain and
/// gzipped NCSA logs, the samples' logs, capture and connection tables.
fn dataset(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("gz")).unwrap();
    let mut big = std::fs::File::create(data.join("ex010804.log")).unwrap();
    for block in 0..12u64 {
        let moved = block >= 6;
        if block == 0 || block == 6 {
            let fields = if moved {
                "date time cs-method cs-uri-stem cs-uri-query c-ip sc-status"
            } else {
                "date time c-ip cs-method cs-uri-stem cs-uri-query sc-status"
            };
            let header = "#Software: Microsoft Internet Information Services 5.0";
            writeln!(big, "{header}\n#Fields: {fields}").unwrap();
        }
        big.write_all(w3c_block(block, 100_000, moved).as_bytes())
            .unwrap();
    }
    for n in 0..10u64 {
        let name = data.join(format!("access_log.{n}"));
        std::fs::write(name, ncsa_block(n, 100_000)).unwrap();
    }
    for n in 0..20u64 {
        let file = std::fs::File::create(data.join(format!("gz/access_log.{n}.gz"))).unwrap();
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        gz.write_all(ncsa_block(100 + n, 25_000).as_bytes())
            .unwrap();
        gz.finish().unwrap();
    }
    for part in ["apache", "iis", "network"] {
        copy_tree(&root().join("samples").join(part), &data.join(part));
    }
    data
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// What one scan writes for the data and the host evidence: JSON Lines and the summary.
fn one_scan(data: &Path, hosts: &Path, dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let out = |name: &str| dir.join(name).display().to_string();
    let (data, hosts) = (data.display().to_string(), hosts.display().to_string());
    let jsonl = out("one.jsonl");
    let summary = out("one.txt");
    for args in [
        vec![
            "scan", "-q", "--format", "jsonl", "-o", &jsonl, &data, &hosts,
        ],
        vec!["scan", "-q", "-o", &summary, &data, &hosts],
    ] {
        let status = common::wormtrace(&args).status.code();
        assert_eq!(status, Some(1), "{args:?}");
    }
    (
        std::fs::read(jsonl).unwrap(),
        std::fs::read(summary).unwrap(),
    )
}

/// Runs the job; the host evidence comes in as a partial result made outside Spark.
fn run_job(master: &str, data: &Path, hosts: &Path, dir: &Path, extra: &[&str]) -> PathBuf {
    let host_part = dir.join("hosts.part");
    let host_arg = host_part.display().to_string();
    let hosts_dir = hosts.display().to_string();
    let args = ["scan", "--partial", "-q", "-o", &host_arg, &hosts_dir];
    assert_eq!(common::wormtrace(&args).status.code(), Some(0));
    let output = dir.join(format!("out-{}", master.replace(['[', ']', ':', '/'], "_")));
    let status = Command::new(venv_python())
        .arg(root().join("spark/wormtrace_spark.py"))
        .args([
            "--master",
            master,
            "--binary",
            env!("CARGO_BIN_EXE_wormtrace"),
        ])
        .args(["--split-size", &SPLIT_SIZE.to_string()])
        .arg("--input")
        .arg(data)
        .arg("--with-partial")
        .arg(&host_part)
        .arg("--output")
        .arg(&output)
        .args(extra)
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("PYSPARK_PYTHON", venv_python())
        .env(
            "PYSPARK_SUBMIT_ARGS",
            "--conf spark.ui.enabled=false pyspark-shell",
        )
        .env("WORMTRACE_SPARK_FAULT_MARK", dir.join("fault"))
        // Captured, not inherited: the run ends when Spark's JVM has exited too.
        .output()
        .expect("the job runs");
    assert_eq!(
        status.status.code(),
        Some(1),
        "the job's status is the merge's (findings):\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
    output
}

fn assert_same(output: &Path, (jsonl, summary): &(Vec<u8>, Vec<u8>)) {
    let merged = std::fs::read(output.join("wormtrace.jsonl")).unwrap();
    let lines = |b: &[u8]| String::from_utf8_lossy(b).lines().count();
    assert_eq!(lines(&merged), lines(jsonl));
    assert!(&merged == jsonl, "JSON Lines differ from one scan's");
    assert!(
        std::fs::read(output.join("summary.txt")).unwrap() == *summary,
        "summaries differ"
    );
    let parquet = output.join("findings");
    assert!(
        parquet.join("family=code-red-ii").is_dir(),
        "Parquet partitioned by family"
    );
    let partials = std::fs::read_dir(output.join("partials")).unwrap().count();
    assert!(partials > 30, "one partial result per task ({partials})");
}

#[test]
#[ignore = "needs Java 17 and PySpark from PyPI (.ci/run installs both); runs Spark on loopback"]
fn the_job_in_local_mode_writes_what_one_scan_writes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let hosts = root().join("samples/host");
    let expected = one_scan(&data, &hosts, dir.path());
    let output = run_job("local[2]", &data, &hosts, dir.path(), &[]);
    assert!(!dir.path().join("fault").exists());
    assert_same(&output, &expected);
}

/// Processes of a standalone cluster, killed when dropped (the test always stops them).
struct Cluster {
    children: Vec<Child>,
    master: String,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_cluster(dir: &Path) -> Cluster {
    let python = venv_python();
    let spark_home = Command::new(&python)
        .args([
            "-c",
            "import pyspark, os; print(os.path.dirname(pyspark.__file__))",
        ])
        .output()
        .unwrap();
    let spark_home = PathBuf::from(String::from_utf8(spark_home.stdout).unwrap().trim());
    let class = |name: &str, args: &[String], log: &str| {
        Command::new(spark_home.join("bin/spark-class"))
            .arg(name)
            .args(args)
            .env("SPARK_HOME", &spark_home)
            .env("SPARK_LOCAL_IP", "127.0.0.1")
            .env("SPARK_WORKER_DIR", dir.join("work"))
            .env("PYSPARK_PYTHON", &python)
            .stdout(Stdio::from(std::fs::File::create(dir.join(log)).unwrap()))
            .stderr(Stdio::from(
                std::fs::File::create(dir.join(format!("{log}.err"))).unwrap(),
            ))
            .spawn()
            .unwrap()
    };
    let port = free_port();
    let master = format!("spark://127.0.0.1:{port}");
    let mut cluster = Cluster {
        children: Vec::new(),
        master: master.clone(),
    };
    let master_args: Vec<String> = ["--host", "127.0.0.1", "--port", &port.to_string()]
        .iter()
        .map(|s| s.to_string())
        .chain(["--webui-port".into(), free_port().to_string()])
        .collect();
    cluster.children.push(class(
        "org.apache.spark.deploy.master.Master",
        &master_args,
        "master.log",
    ));
    for n in 0..2 {
        let worker_args: Vec<String> = vec![
            "--host".into(),
            "127.0.0.1".into(),
            "--cores".into(),
            "1".into(),
            "--memory".into(),
            "1g".into(),
            "--webui-port".into(),
            free_port().to_string(),
            master.clone(),
        ];
        cluster.children.push(class(
            "org.apache.spark.deploy.worker.Worker",
            &worker_args,
            &format!("worker{n}.log"),
        ));
    }
    wait_for_workers(dir);
    cluster
}

/// Waits until both workers registered with the master (its log says so).
fn wait_for_workers(dir: &Path) {
    let started = Instant::now();
    loop {
        let log = std::fs::read_to_string(dir.join("master.log.err")).unwrap_or_default();
        if log.matches("Registering worker").count() >= 2 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "workers did not register:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
#[ignore = "needs Java 17 and PySpark from PyPI (.ci/run installs both); starts a Spark cluster on loopback"]
fn the_job_on_a_standalone_cluster_with_a_killed_task_writes_what_one_scan_writes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let hosts = root().join("samples/host");
    let expected = one_scan(&data, &hosts, dir.path());
    let cluster = start_cluster(dir.path());
    // Task 1 dies on its first attempt, and Spark runs it again. The
    // files go through Python's pipe, as files from HDFS or S3 do.
    let output = run_job(
        &cluster.master,
        &data,
        &hosts,
        dir.path(),
        &["--fail-task", "1", "--pipe-local"],
    );
    drop(cluster);
    assert!(
        dir.path().join("fault").exists(),
        "the task was killed once"
    );
    assert_same(&output, &expected);
}

#[test]
#[ignore = "needs the PySpark virtualenv (.ci/run makes it)"]
fn the_job_refuses_an_output_folder_inside_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    std::fs::create_dir_all(&evidence).unwrap();
    std::fs::write(evidence.join("access_log"), "x\n").unwrap();
    let out = Command::new(venv_python())
        .arg(root().join("spark/wormtrace_spark.py"))
        .arg("--input")
        .arg(&evidence)
        .arg("--output")
        .arg(evidence.join("results"))
        .output()
        .expect("the job runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("lies inside the input"));
    assert!(
        !evidence.join("results").exists(),
        "nothing was written beside the evidence"
    );
}
