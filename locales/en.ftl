headline-attacked = Attacked, but no host of ours sent worm requests in this evidence ({ $attempts ->
        [one] one attempt
       *[other] { $attempts } attempts
    } from { $sources ->
        [one] one source
       *[other] { $sources } sources
    }).
headline-clean = No Code Red-family traces found in { $inputs ->
        [one] the one input
       *[other] { $inputs } inputs
    }.
note-attempt = A log line proves that a request was sent, not that it succeeded. An unpatched IIS that got infected usually logs nothing for that request, so a gap in the log is no proof of safety.
section-attackers = Attacking sources
section-targets = Attacked servers and what the status codes say
section-correlations = Correlation rules that held
col-rule = rule
col-group = for
col-measure = measure
section-timeline = Attempts per day
section-todo = What to do
col-host = host
col-families = families
col-attempts = attempts
col-targets = targets
col-first = first seen ({ $zone })
col-last = last seen ({ $zone })
col-source = source
col-server = server
col-verdict = verdict
col-day = day
more-rows = … and { $count } more (see --format jsonl for all)
window-line = Time window (--since/--until): { $outside } candidate lines or requests fell outside it and were not checked; { $untimed } candidate lines had no time and were checked.
repeats-line = Of these findings, { $omitted } repeated an earlier finding's rule, client, server and status more than { $limit } times in one input: they count in the verdicts and in each input's record (repeats), and are not written one by one (--repeats 0 writes them all).
inputs-not-hashed = Inputs were not hashed (--hash none): their records carry sizes, no SHA-256.
inputs-line = Scanned { $inputs ->
        [one] one input
       *[other] { $inputs } inputs
    }: { $bytes ->
        [one] one byte
       *[other] { $bytes } bytes
    }, { $lines ->
        [one] one line
       *[other] { $lines } lines
    }, { $findings ->
        [one] one finding
       *[other] { $findings } findings
    }.
problems-line = { $count ->
        [one] One input, or part of the case, was
       *[other] { $count } inputs, or parts of the case, were
    } not read in full: see “Not read in full”.
todo-spreading-1 = Disconnect the spreading hosts from the network now: this stops the scanning and cuts off the backdoor.
todo-spreading-2 = Start with hosts whose targets sit in their own /16 and /8: Code Red II picks neighbours first, so their neighbours are the next to check.
todo-spreading-4 = Wipe the disk and reinstall the operating system. After Code Red II a reboot does not clean the host (Code Red v1/v2 live only in memory, but reinstalling is still the safe course).
todo-spreading-5 = Before reconnecting, apply MS01-033 (Q300972; NT 4.0 needs SP6a, Windows 2000 needs SP1 or later first).
todo-exposed-1 = Check each exposed server on the host itself: root.exe in the scripts or MSADC folders, explorer.exe at a drive root, SFCDisable and Virtual Roots in the registry (wormtrace scan on the mounted volume).
todo-exposed-3 = Uninstall IIS where it is not needed: server editions of Windows install it by default.
todo-attacked-1 = Servers that answered 404 had no .ida mapping, and those that answered 200 were patched; confirm the patch state anyway.
todo-attacked-2 = Keep watching the logs, keep only needed services running, and check that your incident contact list is current.
section-hosts = Hosts checked on disk and in the registry
col-patch = MS01-033 patch
col-traces = traces
host-unreadable = could not read
host-metabase-bin = { $path }: IIS 5 binary metabase, not parsed; check for virtual directories c and d in Internet Services Manager.
headline-host-unknown = No worm traces found, but the evidence does not settle { $count ->
        [one] one host
       *[other] { $count } hosts
    }: see what could not be read.
headline-host-clean = No worm traces on { $count ->
        [one] the one host
       *[other] { $count } hosts
    }, and none is exposed.
patch-state-patched = installed
patch-state-unpatched = missing
patch-state-unknown = unknown
patch-no-evidence = nothing tells: no idq.dll and no SOFTWARE hive or export was read
patch-hotfix-key = installed: hotfix key { $detail } is present
patch-w2k-sp3 = installed: Windows 2000 with Service Pack 3 or later includes the fix ({ $detail })
patch-w2k-no-hotfix = missing: Windows 2000 below Service Pack 3 with no Q300972 hotfix key ({ $detail })
patch-nt4-no-hotfix = missing: NT 4.0 with SP6a but no Q300972 hotfix key ({ $detail })
patch-nt4-needs-sp6a = missing: NT 4.0 without SP6a (Q246009), which the fix needs first ({ $detail })
patch-later-windows = not needed: Windows XP, Server 2003 and later ship a fixed idq.dll ({ $detail })
patch-unknown-os = unknown Windows version ({ $detail })
idq-version-unknown = idq.dll version { $detail } is not one this check knows
idq-w2k-fixed = installed: idq.dll { $detail } is the fixed Windows 2000 build (5.0.2195.3645) or later
idq-w2k-old = missing: idq.dll { $detail } is older than the fixed Windows 2000 build 5.0.2195.3645
idq-nt4-fixed = installed: idq.dll { $detail } is the fixed NT 4.0 build (5.0.1782.4) or later
idq-nt4-old = missing: idq.dll { $detail } is older than the fixed NT 4.0 build
idq-nt4-1781-late = installed: idq.dll { $detail } was built from May 2001 on, so it is the first NT 4.0 fix, which kept the old number
idq-nt4-1781-early = missing: idq.dll { $detail } was built before May 2001, so it is the vulnerable January 2001 build
idq-nt4-1781-undated = unknown: idq.dll { $detail } is both the vulnerable and the first fixed NT 4.0 number, and its build date could not be read
check-root-exe = root.exe in a script folder
check-root-explorer = explorer.exe at a drive root
check-sfc-disable = Windows File Protection disabled
check-vroot-drive = whole-drive virtual root
check-vroot-mask = script folder opened for writing
check-metabase-drive-vdir = whole-drive virtual directory in the metabase
check-nimda-admin-dll = admin.dll at a drive root
check-nimda-load-exe = load.exe in system32
check-nimda-readme-eml = readme.eml beside web pages
check-nimda-system-ini = load.exe started from system.ini
check-ms01-033-missing = MS01-033 fix missing
why-root-exe = Code Red II copies cmd.exe here as root.exe, so anyone can run commands through the web server. The same bytes as cmd.exe make it near certain.
why-root-explorer = Code Red II drops a trojan explorer.exe at the drive root; Windows starts it instead of the real one (MS00-052), and it keeps the backdoor open.
why-sfc-disable = 0xFFFFFF9D is the value Code Red II's trojan writes to switch off Windows File Protection; the normal value is 0.
why-vroot-drive = Code Red II adds /C and /D virtual roots that publish whole drives through the web server.
why-vroot-mask = Code Red II rewrites the Scripts and MSADC roots with mask 217 (read, write, execute); the normal masks are 201 and 205.
why-metabase-drive-vdir = Code Red II adds c and d virtual directories to every web site; they persist in the metabase.
why-nimda-admin-dll = Nimda copies itself to admin.dll at drive roots.
why-nimda-load-exe = Nimda copies itself to load.exe in system32 and starts it at boot.
why-nimda-readme-eml = Nimda writes readme.eml beside web pages so that visitors' browsers run it.
why-nimda-system-ini = Nimda sets shell=explorer.exe load.exe -dontrunold so that it starts with Windows.
why-ms01-033-missing = IIS on this host can reach idq.dll without the MS01-033 fix: one Code Red request is enough to infect it.
todo-host-compromised-1 = Take the compromised hosts off the network now: they scan for new victims and their backdoor is open.
todo-host-compromised-2 = Save the data you need, but check the copies before restoring: they may carry the worm's files or programs an intruder planted through the backdoor.
todo-host-compromised-3 = Wipe the disk and reinstall the operating system: after Code Red II a reboot does not clean the host, and cleaning tools only remove what they know of.
todo-host-compromised-4 = Install MS01-033 (Q300972) before the host goes back online; NT 4.0 needs SP6a and Windows 2000 SP1 or later first.
todo-host-compromised-5 = Look for the same traces on the hosts it reached: Code Red II tries its own /16 and /8 first (scan their logs and volumes with wormtrace).
todo-host-exposed-1 = Install MS01-033 (Q300972) now; NT 4.0 needs SP6a and Windows 2000 SP1 or later first.
todo-host-exposed-2 = Until the fix is in, remove the .ida and .idq script mappings (Internet Services Manager, WWW Service master properties, Home Directory, Configuration, App Mappings).
todo-host-exposed-3 = Uninstall IIS where it is not needed: server editions of Windows install it by default.
todo-host-mitigated-1 = The .ida and .idq mappings are gone, but installing other software can bring them back: install MS01-033 anyway.
todo-host-mitigated-2 = Keep IIS only where it is needed, and watch its logs for new attempts.
todo-host-unknown-1 = Give wormtrace what it could not read: the SYSTEM and SOFTWARE hives (or reg export files), idq.dll, and a dir listing of the drive roots and script folders.

# Network evidence: captures and connection tables
net-verdict-spreading = spreading
net-verdict-not-spreading = not spreading
todo-net-spreading-2 = Sweep them with wormtrace (volume, registry and IIS logs): Code Red II leaves root.exe and a trojan explorer.exe, and must be reinstalled, not only rebooted.
net-figures-targets = { $targets ->
        [one] one port-80 target
       *[other] { $targets } port-80 targets
    }
net-figures-window = {" "}({ $count } in { $seconds } s)
net-figures-locality = /16 { $same16 }%, /8 { $same8 }%, elsewhere { $elsewhere }%
list-separator = {"; "}
net-figures-fit = best fit { $model } (p { $p })

# Inputs that were skipped or could not be read, and the terminal around the run
headline-incomplete = No Code Red-family traces in what was read, but { $unread ->
        [one] one input was
       *[other] { $unread } inputs were
    } not read in full: this is not a clean result.
section-not-read = Not read in full
col-input = input
col-reason = reason
col-severity = kind
severity-error = unreadable
severity-skipped = skipped
problem-correlation-untimed = { $count } finding(s) of correlated rules have no time: they were left out of the correlations.
problem-correlation-dropped = { $count } finding(s) of correlated rules were left out of the correlations (a group-by field was empty, or the limit of findings kept was reached).
problem-link-not-followed = symbolic link to { $target }, not followed (use --follow)
problem-link-loop = symbolic link to { $target } leads back into a folder being read
problem-link-broken = symbolic link to { $target }, which cannot be reached
problem-not-regular = not a regular file (FIFO, socket or device)
problem-binary = binary data, not evidence wormtrace reads
problem-not-found = no such file or directory
problem-permission = permission denied
stdin-hint = Reading evidence from standard input. Pipe a file in, or paste lines and end with Ctrl-D.
progress-read = read
progress-decoded = decoded
progress-findings = findings

# The case: one verdict per host
headline-infected = { $count ->
        [one] One host of ours is
       *[other] { $count } hosts of ours are
    } infected or spreading a worm: take { $count ->
        [one] it
       *[other] them
    } off the network first.
headline-hosts-exposed = No host of ours is infected, but { $count ->
        [one] one can be
       *[other] { $count } can be
    }: fix { $count ->
        [one] it
       *[other] them
    } before the next attack.
section-decisions = Our hosts
section-details = Details per host
col-addresses = addresses
col-evidence = evidence
col-first-step = first step
col-404 = 404
col-2xx = 2xx
col-other-status = other
col-no-status = none logged
state-compromised = compromised
state-spreading = spreading
state-exposed = exposed
state-mitigated = mitigated
state-attacked = attacked
state-patched = patched
state-not-iis = no IIS
state-clean = clean
state-not-spreading = not spreading
state-unknown = unknown
kind-log = logs
kind-host = disk
kind-network = network
first-step-compromised = Isolate it now, then rebuild it.
first-step-spreading = Disconnect it now: it is attacking others.
first-step-exposed = Check it on the host and install MS01-033.
first-step-mitigated = Install MS01-033 anyway.
first-step-attacked = Confirm its patch state; keep watching.
first-step-patched = Nothing urgent.
first-step-not-iis = Nothing: no IIS to infect.
first-step-clean = Nothing found in what was checked.
first-step-not-spreading = Nothing found in what was checked.
first-step-unknown = Collect what is missing (see below).
todo-group = { $state }: { $hosts }
detail-served = attacked { $attempts ->
        [one] once
       *[other] { $attempts } times
    } by { $sources ->
        [one] one source
       *[other] { $sources } sources
    }; answers: 404 { $notfound }, 2xx { $success }, other { $other }, none logged { $none }
detail-backdoor = { $count ->
        [one] One backdoor request (root.exe, /c/, /d/) was
       *[other] { $count } backdoor requests (root.exe, /c/, /d/) were
    } answered 2xx: the backdoor is there.
detail-traversal = { $count ->
        [one] One traversal to cmd.exe was
       *[other] { $count } traversals to cmd.exe were
    } answered 2xx or 502: the command ran, so infection is likely (look for tftp … Admin.dll from the same source).
detail-code-red-unknown = { $count ->
        [one] One Code Red request got
       *[other] { $count } Code Red requests got
    } neither 404 nor 200: the server may have been vulnerable; check it on the host.
detail-sent = sent worm requests to { $targets ->
        [one] one target
       *[other] { $targets } targets
    } (own /16 { $same16 }, own /8 { $same8 }), { $first } to { $last }
detail-disk = the disk and registry say: { $state }
detail-nothing-checked = No evidence about this host was read: it is known only from the inventory.
hosts-line = Swept { $hosts ->
        [one] one host
       *[other] { $hosts } hosts
    } on disk: { $findings ->
        [one] one trace
       *[other] { $findings } traces
    } or missing fixes.
problem-io = cannot be read: { $detail }
problem-cannot-open = cannot open: { $detail }
problem-cannot-read = cannot read: { $detail }
problem-range-head = a range after the first needs the file's first bytes (--head FILE)
problem-range-unsplittable = not a plain log that can be read in ranges: scan the file whole
problem-range-short = read { $bytes } bytes of the range: the file ended early
problem-range-kept = more than { $bytes } bytes of candidate lines in one range: scan the file whole
problem-range-gap = bytes { $from } to { $to } were in no range: those lines were not read
problem-range-unhashed = scanned in ranges, and no hashing task's digest was merged: no SHA-256
problem-read-failed = read error: { $detail }
problem-unfinished = cannot read to the end: { $detail }
problem-internal = an internal error stopped the reading; findings before it are kept
problem-internal-at = an internal error stopped the reading at byte { $bytes }
problem-read-error = read error after { $bytes } bytes ({ $detail }); findings before that point are kept
problem-read-error-at = read error at byte { $bytes } ({ $detail }); findings before that point are kept
problem-corrupt = { $compression } data is corrupt or truncated after { $bytes } bytes ({ $detail }); findings before that point are kept
problem-cannot-hash = cannot compute the SHA-256: { $detail }
problem-nul-blocks = { $bytes } NUL bytes in { $blocks ->
        [one] one block
       *[other] { $blocks } blocks
    } skipped: a crash left that part of the log unwritten
problem-long-lines = { $count ->
        [one] one line is
       *[other] { $count } lines are
    } longer than { $max } bytes: only the start was checked
problem-capture-damaged = the capture is damaged ({ $detail }); findings before that point are kept
problem-capture-limits = memory limits reached: { $flows } flows closed early, { $heads } request heads cut
problem-tally-outside = { $findings } findings from about { $others } more outside sources are counted, not listed one by one (limit { $max } sources)
problem-tally-inside = { $findings } findings from about { $others } more addresses of ours are counted, not judged one by one (limit { $max } addresses)
problem-tally-targets = { $findings } findings against about { $others } more servers are counted, not judged one by one (limit { $max } servers)
problem-tally-ids = { $findings } finding ids are not listed in the verdicts (limit { $max }); the findings themselves are all written
problem-table-no-rows = no row of the connection table was understood
problem-max-bytes = not a regular file: reading stopped after { $bytes } bytes (--max-bytes)
problem-host-file-cut = only the first { $bytes } bytes were read
problem-table-cut = connection table cut at { $bytes } bytes
problem-no-spreading-rule = no spreading correlation is loaded: outbound connections were not counted, so no address here was judged for spreading
problem-listing-limit = { $count } more files at known places not kept (limit { $max })
problem-table-addresses = { $count } rows not tallied: the table has more than { $max } local addresses
problem-table-rows = { $count ->
        [one] one TCP row
       *[other] { $count } TCP rows
    } not read (names instead of numbers: save the table with -n)
problem-hive = the registry hive cannot be read: { $detail }
problem-reg-export = the .reg export cannot be read: { $detail }
problem-reg-lines = { $count ->
        [one] one line
       *[other] { $count } lines
    } of the export not understood
problem-metabase = the metabase cannot be read: { $detail }
problem-volume-link = a link on the volume, not followed (it could lead out of the volume)
problem-deep-limit = --deep stopped after { $count } entries
problem-not-host-evidence = not host evidence (volume, hive, .reg export, metabase or dir listing)
problem-too-deep = more than { $depth } folders deep, not walked further

# The HTML report
report-title = wormtrace report: which of our hosts are infected, and what to do
report-rules = rule pack
report-started = run started
chart-hourly = Attempts per hour, by family
chart-daily = Attempts per day, by family
chart-sources = Top attacking sources
chart-locality = Where spreading hosts' targets lie, beside Code Red II's and uniform picking
chart-statuses = Attacked servers and their answers
col-hour = hour
model-code-red-ii = Code Red II (3/8, 1/2, 1/8)
model-uniform = uniform (Code Red v1/v2)
loc-same16 = same /16
loc-same8 = same /8
loc-elsewhere = elsewhere
filter-placeholder = Filter rows…
section-findings = Findings
findings-shown = The first { $shown } of { $total } findings are shown here; the case file (--case) holds them all.
col-time = time
col-family = family
col-what = request or trace
col-status = status
col-where = where
section-verdicts = Verdicts
col-subject = subject
col-role = role
role-host = our host
role-source = source
role-scanner = scanner
role-target = server
section-inputs = Inputs read
col-format = format
col-size = size
list-comma = {", "}
