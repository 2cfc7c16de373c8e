//! Host evidence: Windows volume trees, `.reg` exports in both encodings, hive-building
//! scripts for `hivexsh`, IIS metabases, `dir` listings and PE files carrying only a
//! version resource. No worm code: `root.exe` is a copy of a dummy `cmd.exe`, and every
//! executable is a few bytes of text or an empty PE image.

use std::io;
use std::path::Path;

/// The dummy command interpreter every volume carries.
pub fn cmd_exe() -> Vec<u8> {
    b"wormtrace test file standing in for cmd.exe (not a program)\r\n".repeat(40)
}

/// Dummy bytes for an executable that is not cmd.exe.
pub fn dummy(name: &str) -> Vec<u8> {
    format!("wormtrace test file standing in for {name} (not a program)\r\n").into_bytes()
}

/// 2001-01-09, when the vulnerable NT 4.0 idq.dll was built.
pub const JAN_2001: u32 = 979_000_000;
/// 2001-06-08, when the first NT 4.0 fix was built.
pub const JUN_2001: u32 = 992_000_000;

/// A PE32 DLL with no code: headers, and one `.rsrc` section holding a version resource
/// with `version` as its file version. `linked` is the header's link time.
pub fn pe_with_version(version: [u16; 4], linked: u32) -> Vec<u8> {
    let rsrc = version_resource(version, 0x1000);
    let raw_size = rsrc.len().div_ceil(0x200) * 0x200;
    let mut pe = vec![0u8; 0x200 + raw_size];
    pe[0..2].copy_from_slice(b"MZ");
    put32(&mut pe, 0x3c, 0x40);
    pe[0x40..0x44].copy_from_slice(b"PE\0\0");
    let coff = 0x44;
    put16(&mut pe, coff, 0x14c); // i386
    put16(&mut pe, coff + 2, 1); // sections
    put32(&mut pe, coff + 4, linked);
    put16(&mut pe, coff + 16, 0xe0); // optional header size
    put16(&mut pe, coff + 18, 0x2102); // DLL, executable, 32-bit
    let opt = coff + 20;
    put16(&mut pe, opt, 0x10b); // PE32
    put32(&mut pe, opt + 8, raw_size as u32); // initialized data
    put32(&mut pe, opt + 28, 0x1000_0000); // image base
    put32(&mut pe, opt + 32, 0x1000); // section alignment
    put32(&mut pe, opt + 36, 0x200); // file alignment
    put16(&mut pe, opt + 40, 5); // OS version
    put16(&mut pe, opt + 48, 4); // subsystem version
    let image_size = 0x1000 + rsrc.len().div_ceil(0x1000) * 0x1000;
    put32(&mut pe, opt + 56, image_size as u32);
    put32(&mut pe, opt + 60, 0x200); // headers
    put16(&mut pe, opt + 68, 2); // GUI subsystem
    put32(&mut pe, opt + 92, 16); // data directories
    let resource_dir = opt + 96 + 2 * 8;
    put32(&mut pe, resource_dir, 0x1000);
    put32(&mut pe, resource_dir + 4, rsrc.len() as u32);
    let section = opt + 0xe0;
    pe[section..section + 5].copy_from_slice(b".rsrc");
    put32(&mut pe, section + 8, rsrc.len() as u32);
    put32(&mut pe, section + 12, 0x1000);
    put32(&mut pe, section + 16, raw_size as u32);
    put32(&mut pe, section + 20, 0x200);
    put32(&mut pe, section + 36, 0x4000_0040); // initialized data, readable
    pe[0x200..0x200 + rsrc.len()].copy_from_slice(&rsrc);
    pe
}

/// Resource tree type 16 (version) → id 1 → language 0x409 → VS_VERSIONINFO, at `rva`.
fn version_resource(version: [u16; 4], rva: u32) -> Vec<u8> {
    let mut r = Vec::new();
    let dir = |r: &mut Vec<u8>, id: u32, target: u32| {
        r.extend_from_slice(&[0u8; 12]);
        r.extend_from_slice(&0u16.to_le_bytes()); // named entries
        r.extend_from_slice(&1u16.to_le_bytes()); // id entries
        r.extend_from_slice(&id.to_le_bytes());
        r.extend_from_slice(&target.to_le_bytes());
    };
    dir(&mut r, 16, 0x8000_0000 | 24);
    dir(&mut r, 1, 0x8000_0000 | 48);
    dir(&mut r, 0x409, 72);
    let info = version_info(version);
    let data_rva = rva + 88;
    r.extend_from_slice(&data_rva.to_le_bytes());
    r.extend_from_slice(&(info.len() as u32).to_le_bytes());
    r.extend_from_slice(&[0u8; 8]);
    r.extend_from_slice(&info);
    r
}

fn version_info(v: [u16; 4]) -> Vec<u8> {
    let mut info = Vec::new();
    info.extend_from_slice(&[0u8; 2]); // length, set below
    info.extend_from_slice(&52u16.to_le_bytes());
    info.extend_from_slice(&0u16.to_le_bytes());
    for unit in "VS_VERSION_INFO\0".encode_utf16() {
        info.extend_from_slice(&unit.to_le_bytes());
    }
    info.extend_from_slice(&[0u8; 2]); // align to 4
    let ms = (u32::from(v[0]) << 16) | u32::from(v[1]);
    let ls = (u32::from(v[2]) << 16) | u32::from(v[3]);
    for word in [
        0xfeef_04bd,
        0x0001_0000,
        ms,
        ls,
        ms,
        ls,
        0x3f,
        0,
        0x0004_0004,
        2,
        0,
        0,
        0,
    ] {
        info.extend_from_slice(&word.to_le_bytes());
    }
    let len = info.len() as u16;
    info[0..2].copy_from_slice(&len.to_le_bytes());
    info
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// A registry value for exports and hive scripts.
#[derive(Debug, Clone)]
pub enum RegValue {
    Sz(&'static str),
    Dword(u32),
    MultiSz(&'static [&'static str]),
}

/// A key (full path from `HKEY_LOCAL_MACHINE`) and its values.
pub type RegKeySpec = (&'static str, Vec<(&'static str, RegValue)>);

/// A `.reg` export: REGEDIT4 in the ANSI code page, or version 5 in UTF-16LE with BOM.
pub fn reg_export(unicode: bool, keys: &[RegKeySpec]) -> Vec<u8> {
    let header = if unicode {
        "Windows Registry Editor Version 5.00"
    } else {
        "REGEDIT4"
    };
    let mut text = format!("{header}\r\n\r\n");
    for (key, values) in keys {
        text.push_str(&format!("[HKEY_LOCAL_MACHINE\\{key}]\r\n"));
        for (name, value) in values {
            let data = match value {
                RegValue::Sz(s) => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
                RegValue::Dword(d) => format!("dword:{d:08x}"),
                RegValue::MultiSz(list) => format!("hex(7):{}", multi_sz_hex(list)),
            };
            text.push_str(&format!("\"{name}\"={data}\r\n"));
        }
        text.push_str("\r\n");
    }
    if !unicode {
        return text.into_bytes();
    }
    let mut bytes = vec![0xff, 0xfe];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

/// REG_MULTI_SZ data as the comma-separated hex bytes `.reg` files and hivexsh take.
fn multi_sz_hex(list: &[&str]) -> String {
    let mut text: String = list.iter().map(|s| format!("{s}\0")).collect();
    text.push('\0');
    text.encode_utf16()
        .flat_map(u16::to_le_bytes)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A `hivexsh -w` script that adds `keys` (paths below the hive's root) and commits.
pub fn hivexsh_script(keys: &[RegKeySpec]) -> String {
    let mut script = String::new();
    let mut made = std::collections::BTreeSet::new();
    for (key, values) in keys {
        script.push_str("cd \\\n");
        let mut path = String::new();
        for part in key.split('\\') {
            path.push_str(&format!("\\{}", part.to_lowercase()));
            // hivexsh refuses to add a key twice.
            if made.insert(path.clone()) {
                script.push_str(&format!("add {part}\n"));
            }
            script.push_str(&format!("cd {part}\n"));
        }
        if values.is_empty() {
            continue;
        }
        script.push_str(&format!("setval {}\n", values.len()));
        for (name, value) in values {
            let data = match value {
                RegValue::Sz(s) => format!("string:{s}"),
                RegValue::Dword(d) => format!("dword:0x{d:08x}"),
                RegValue::MultiSz(list) => format!("hex:7:{}", multi_sz_hex(list)),
            };
            script.push_str(&format!("{name}\n{data}\n"));
        }
    }
    script.push_str("commit\n");
    script
}

/// An IIS 6 `MetaBase.xml` with or without the `.ida`/`.idq` maps and the `c`/`d` vdirs.
pub fn metabase_xml(ida_maps: bool, drive_vdirs: bool) -> String {
    let ida = if ida_maps {
        "\n\t\t\t.ida,C:\\WINDOWS\\system32\\idq.dll,7,GET,HEAD,POST\n\t\t\t.idq,C:\\WINDOWS\\system32\\idq.dll,7,GET,HEAD,POST"
    } else {
        ""
    };
    let vdirs = if drive_vdirs {
        "<IIsWebVirtualDir\tLocation =\"/LM/W3SVC/1/ROOT/c\"\n\t\tAccessFlags=\"AccessRead | AccessWrite | AccessExecute | AccessScript\"\n\t\tPath=\"c:\\\"\n\t>\n</IIsWebVirtualDir>\n<IIsWebVirtualDir\tLocation =\"/LM/W3SVC/1/ROOT/d\"\n\t\tAccessFlags=\"AccessRead | AccessWrite | AccessExecute | AccessScript\"\n\t\tPath=\"d:\\\"\n\t>\n</IIsWebVirtualDir>\n"
    } else {
        ""
    };
    format!(
        "<?xml version =\"1.0\"?>\n<configuration xmlns=\"urn:microsoft-catalog:XML_Metabase_V64_0\">\n<MBProperty>\n<IIsWebService\tLocation =\"/LM/W3SVC\"\n\t\tScriptMaps=\".asp,C:\\WINDOWS\\system32\\inetsrv\\asp.dll,5,GET,HEAD,POST,TRACE{ida}\"\n\t>\n</IIsWebService>\n<IIsWebVirtualDir\tLocation =\"/LM/W3SVC/1/ROOT\"\n\t\tAccessFlags=\"AccessRead | AccessScript\"\n\t\tPath=\"c:\\inetpub\\wwwroot\"\n\t>\n</IIsWebVirtualDir>\n{vdirs}</MBProperty>\n</configuration>\n"
    )
}

/// One file of a volume tree: a path relative to the root (with `/`) and its bytes.
pub type TreeFile = (String, Vec<u8>);

/// Kinds of volume the tests and samples use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volume {
    /// Windows 2000, unpatched idq.dll, Code Red II's files in both script folders.
    Infected,
    /// Windows 2000 with the fixed idq.dll and no traces.
    Patched,
    /// Windows 2000, unpatched, no traces.
    Unpatched,
    /// Nimda's files.
    Nimda,
    /// A data volume (no Windows folder) with root.exe and a trojan explorer.exe.
    DataInfected,
    /// Names in odd case and 8.3 short names.
    OddNames,
}

/// The files of a volume.
pub fn volume_files(kind: Volume) -> Vec<TreeFile> {
    let f = |p: &str, b: Vec<u8>| (p.to_string(), b);
    let base = |idq: [u16; 4]| {
        vec![
            f("WINNT/system32/cmd.exe", cmd_exe()),
            f("WINNT/explorer.exe", dummy("the real explorer.exe")),
            f(
                "WINNT/system.ini",
                b"[boot]\r\nshell=Explorer.exe\r\n".to_vec(),
            ),
            f("WINNT/system32/idq.dll", pe_with_version(idq, 990_000_000)),
            f(
                "Inetpub/wwwroot/default.htm",
                b"<html>ok</html>\r\n".to_vec(),
            ),
            f("Inetpub/scripts/.keep", Vec::new()),
        ]
    };
    match kind {
        Volume::Infected => {
            let mut files = base([5, 0, 2195, 1]);
            files.push(f("Inetpub/scripts/root.exe", cmd_exe()));
            files.push(f(
                "Program Files/Common Files/System/MSADC/root.exe",
                cmd_exe(),
            ));
            files.push(f("explorer.exe", dummy("a trojan explorer.exe")));
            files
        }
        Volume::Patched => base([5, 0, 2195, 3645]),
        Volume::Unpatched => base([5, 0, 2195, 1]),
        Volume::Nimda => {
            let mut files = base([5, 0, 2195, 3645]);
            files.retain(|(p, _)| p != "WINNT/system.ini");
            files.push(f(
                "WINNT/system.ini",
                b"[boot]\r\nshell=explorer.exe load.exe -dontrunold\r\n".to_vec(),
            ));
            files.push(f("admin.dll", dummy("admin.dll")));
            files.push(f("WINNT/system32/load.exe", dummy("load.exe")));
            files.push(f("Inetpub/wwwroot/readme.eml", dummy("readme.eml")));
            files
        }
        Volume::DataInfected => vec![
            f("Inetpub/scripts/root.exe", cmd_exe()),
            f("explorer.exe", dummy("a trojan explorer.exe")),
        ],
        Volume::OddNames => vec![
            f("winnt/SYSTEM32/Cmd.Exe", cmd_exe()),
            f("INETPUB/Scripts/ROOT.EXE", cmd_exe()),
            f("PROGRA~1/COMMON~1/SYSTEM/MSADC/ROOT.EXE", cmd_exe()),
        ],
    }
}

/// Writes a tree under `root`.
pub fn write_tree(root: &Path, files: &[TreeFile]) -> io::Result<()> {
    for (rel, bytes) in files {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, bytes)?;
    }
    Ok(())
}

/// A `dir /s /a` listing (English, Windows 2000 style) of an infected server's C: drive.
pub fn infected_listing() -> String {
    let cmd = cmd_exe().len();
    let rows = [
        ("C:\\", vec![("explorer.exe", 8_192)]),
        ("C:\\Inetpub\\scripts", vec![("root.exe", cmd)]),
        (
            "C:\\PROGRA~1\\COMMON~1\\System\\MSADC",
            vec![("root.exe", cmd)],
        ),
        (
            "C:\\WINNT\\system32",
            vec![("cmd.exe", cmd), ("idq.dll", 71_440)],
        ),
    ];
    let mut text =
        String::from(" Volume in drive C has no label.\r\n Volume Serial Number is 1C2D-3E4F\r\n");
    for (dir, files) in rows {
        text.push_str(&format!(
            "\r\n Directory of {dir}\r\n\r\n08/01/2001  09:00a      <DIR>          .\r\n"
        ));
        for (name, size) in &files {
            text.push_str(&format!(
                "08/04/2001  11:22a {:>18} {name}\r\n",
                group(*size)
            ));
        }
        text.push_str(&format!("               {} File(s)\r\n", files.len()));
    }
    text
}

fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
