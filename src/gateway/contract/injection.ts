/* eslint-disable no-useless-escape, no-control-regex -- attack syntax reads better escaped; NUL and control characters are what some rules look for */
/**
 * Injection detector for free text (API8): SQL, NoSQL operators, OS command, path
 * traversal, server-side template and script (XSS) injection.
 *
 * Each rule looks for the *structure* of an attack — a quote that closes a literal and
 * continues with SQL, a command separator followed by a command, a tag with an event
 * handler — never for a lone keyword, so prose ("select one from the list"), names
 * (O'Brien) and punctuation (semicolons, quotes) pass. Values are normalised first
 * (percent-decoding twice, HTML numeric entities, `\uXXXX`/`\xXX` escapes, SQL inline
 * comments, case) so encodings do not hide a payload. The corpus in
 * test/fixtures/injection/ measures detection and false positives (docs/injection.md).
 */

export type InjectionKind = 'sql' | 'nosql' | 'command' | 'path-traversal' | 'template' | 'script';

export interface InjectionFinding {
  kind: InjectionKind;
  /** Stable rule id, for events and tuning. */
  rule: string;
}

export interface InjectionRule {
  kind: InjectionKind;
  id: string;
  /**
   * What every match of `re` contains, found with indexOf before the regex runs: each
   * group needs one of its strings in the normalised value (a group of ORs, groups ANDed).
   * Most rules are gated by a character (`<`, `;`, a quote); prose reaches only the few
   * rules its punctuation can start. test: every rule's matches on the corpus pass its gate.
   */
  gate: readonly (readonly string[])[];
  re: RegExp;
}

/** Commands that are also English words: only with a shell-looking argument or alone. */
const CMD_WORDS = String.raw`(?:cat|ls|id|echo|printf|sleep|ping|env|kill|touch|head|tail|find|type|dir|ver|export|exec|eval|su|sed|dig|timeout|hostname|passwd|rm|nc|sh|dash|net\s+user)`;
/** Commands nobody writes in prose after a separator. */
const CMD_STRONG = String.raw`(?:whoami|uname|wget|curl|ncat|netcat|bash|zsh|ksh|python[23]?|perl|ruby|php|chmod|chown|powershell|pwsh|cmd(?:\.exe)?|ifconfig|ipconfig|printenv|mkfifo|base64|telnet|ssh|scp|tftp|ftp|nslookup|systeminfo|tasklist|awk|xargs|sudo|crontab|socat|openssl|busybox|nohup)`;
const CMD = String.raw`(?:${CMD_WORDS}|${CMD_STRONG})`;
const SQL_CMP = String.raw`(?:=|<>|!=|<=?|>=?|\blike\b|\brlike\b|\bregexp\b|\bis\b)`;
const SQL_ATOM = String.raw`(?:\d+|'[^']*'?|"[^"]*"?|null|true|false|\w+\(\))`;

/** Gate strings for "any digit" (one bit of the gate mask). */
const DIGITS = [...'0123456789'];

const RULES: InjectionRule[] = [
  // --- NoSQL (operators in text; operator keys are checked separately) ---
  {
    kind: 'nosql',
    id: 'nosql-operator',
    gate: [['$']],
    re: /(?:^|[{,\[\s"'])\$(?:where|ne|eq|gt|gte|lt|lte|in|nin|regex|exists|expr|function|accumulator|or|and|nor|not|elemmatch|size|type|mod|all|text|jsonschema|lookup)\b\s*["'\]]?\s*[:=\]]/,
  },
  {
    kind: 'nosql',
    id: 'nosql-js',
    gate: [["'", '"']],
    re: /['"]\s*(?:;|\|\||&&)\s*(?:return\b|this\.|sleep\s*\(|while\s*\(|db\.)/,
  },
  {
    kind: 'nosql',
    id: 'nosql-js-tautology',
    gate: [["'", '"']],
    re: /['"]\s*(?:\|\||&&)\s*(?:'[^']*'|"[^"]*"|\d+|true)\s*[=!]==?/,
  },
  {
    kind: 'nosql',
    id: 'nosql-where-js',
    gate: [['this.', 'db.']],
    re: /\bthis\.\w+\s*(?:==|!=|\.match\()|\bdb\.(?:getcollection|\w+\.find)\s*\(/,
  },
  // --- SQL ---
  {
    kind: 'sql',
    id: 'sql-union',
    gate: [['union'], ['select']],
    re: /\bunion(?:\s+(?:all|distinct))?\s*\(?\s*select\b/,
  },
  {
    kind: 'sql',
    id: 'sql-tautology',
    // Two atoms (a number, a quoted string, null/true/false, a call), a comparison, a conjunction.
    gate: [
      [...DIGITS, "'", '"', '(', 'null', 'true', 'false'],
      ['=', '<', '>', 'like', 'regexp', 'is'],
      ['&', '|', 'and', 'or', 'having', 'where'],
    ],
    re: new RegExp(
      String.raw`(?:\b(?:and|or|xor|having|where)\b|&&|\|\|)\s*(?:not\s+)?\(?\s*${SQL_ATOM}\s*${SQL_CMP}\s*\(?\s*${SQL_ATOM}`,
    ),
  },
  {
    kind: 'sql',
    id: 'sql-quote-break',
    gate: [["'", '"', '`', ')']],
    re: /['"`)]\s*(?:;|\b(?:and|or|xor|union|order\s+by|group\s+by|having|limit|procedure|into)\b)[\s\S]*?(?:--|#|\/\*|;|=|\bselect\b|\bsleep\b|\bnull\b)/,
  },
  {
    kind: 'sql',
    id: 'sql-comment-tail',
    gate: [
      ["'", '"', '`', ')'],
      ['--', '#', '/*'],
    ],
    re: /['"`)]\s*(?:--(?:\s|$|-)|#\s*$|\/\*)/,
  },
  {
    kind: 'sql',
    id: 'sql-stacked',
    gate: [[';']],
    re: /;\s*(?:select|insert|update|delete|drop|create|alter|truncate|exec(?:ute)?|declare|shutdown|grant|revoke|waitfor|call\s+\w+\s*\(|merge\s+into|replace\s+into|set\s+@|copy\s+\w+\s+(?:from|to))\b/,
  },
  {
    kind: 'sql',
    id: 'sql-function',
    gate: [['(']],
    re: /\b(?:sleep|benchmark|pg_sleep|waitfor\s+delay|extractvalue|updatexml|load_file|utl_inaddr\.get_host_address|dbms_pipe\.receive_message|randomblob|sys_eval|xp_cmdshell|sp_executesql|make_set|elt|gtid_subset|json_keys|exp\(~)\s*\(/,
  },
  { kind: 'sql', id: 'sql-waitfor', gate: [["'"], ['waitfor']], re: /\bwaitfor\s+(?:delay|time)\s+'/ },
  {
    kind: 'sql',
    id: 'sql-catalog',
    gate: [['_', '@', 'sys', 'mysql.']],
    re: /\b(?:information_schema|sqlite_master|sqlite_schema|pg_catalog|sysobjects|syscolumns|mysql\.user|all_tables|user_tables|pg_shadow|sys\.tables)\b|@@(?:version|datadir|hostname|servername)\b/,
  },
  { kind: 'sql', id: 'sql-into-file', gate: [['into'], ['file']], re: /\binto\s+(?:out|dump)file\b/ },
  {
    kind: 'sql',
    id: 'sql-select-from',
    gate: [['select'], ['from']],
    re: /\bselect\b[\s\S]{0,80}?\bfrom\b[\s\S]{0,40}?(?:--|#|\/\*|;|\bwhere\b[\s\S]*=|\blimit\b\s*\d|\bdual\b)/,
  },
  {
    kind: 'sql',
    id: 'sql-order-by-probe',
    gate: [["'", '"', ')', ...DIGITS], ['order']],
    re: /(?:['")]|\d)\s*\border\s+by\s+\d+\s*(?:--|#|\/\*|$)/,
  },
  {
    kind: 'sql',
    id: 'sql-cast',
    gate: [['(']],
    re: /\b(?:cast|convert)\s*\([\s\S]{0,60}\b(?:as|using)\b[\s\S]{0,30}\)|\bchar\s*\(\s*\d+\s*(?:,\s*\d+\s*)+\)|\bchr\s*\(\s*\d+\s*\)\s*(?:\|\||\+)/,
  },
  {
    kind: 'sql',
    id: 'sql-hex-literal',
    gate: [["'", '"', ')'], ['0x']],
    re: /['")]\s*(?:and|or|=)[\s\S]*\b0x[0-9a-f]{4,}\b/,
  },
  // --- OS command ---
  {
    kind: 'command',
    id: 'cmd-separator',
    gate: [[';', '&', '|', '\n', '\r', '%0a']],
    re: new RegExp(
      String.raw`(?:;|&&?|\|\|?|\n|\r|%0a)\s*(?:(?:\/(?:usr\/)?s?bin\/)?${CMD_WORDS}(?:\s+[-/$'"~.\\%]|\s+\d+\s*(?:$|[;|&#])|\s+[\w-]+\.[\w-]+\.?[\w.-]*(?:\s|$)|\s*$|\s*[;|&\`)<>#]|\$\{?ifs)|(?:\/(?:usr\/)?s?bin\/)?${CMD_STRONG}\b|\/(?:usr\/)?s?bin\/\w+)`,
    ),
  },
  {
    kind: 'command',
    id: 'cmd-substitution',
    gate: [['$', '`']],
    re: new RegExp(String.raw`\$\(\(?\s*[\w/.'"-]|\`\s*(?:\/(?:usr\/)?s?bin\/)?${CMD}\b[^\`]*\``),
  },
  {
    kind: 'command',
    id: 'cmd-ifs',
    gate: [['$', '-']],
    re: /\$\{?ifs\}?|\$\{?path:?\d|\$\{?home\}?\/|\benv\s*-i\b/,
  },
  {
    kind: 'command',
    id: 'cmd-redirect',
    gate: [['>', '<', '/', '-', '|']],
    re: /(?:>|>>|<)\s*\/(?:etc|tmp|dev|proc|var)\/|\/dev\/(?:tcp|udp)\/|\b(?:bash|sh)\s+-[ci]\b|\|\s*(?:bash|sh|zsh)\b/,
  },
  // --- Path traversal ---
  {
    kind: 'path-traversal',
    id: 'path-dotdot',
    gate: [['..']],
    re: /^\s*\.\.\s*$|(?:^|[\/\\])\.\.(?:[\/\\]|$)|\.\.[\/\\]{1,2}\.\.|\.\.\\|^\.\.[\/\\]/,
  },
  {
    kind: 'path-traversal',
    id: 'path-sensitive-file',
    gate: [['/', '\\', 'boot.ini', '.env', 'web.config', '.htaccess', 'wp-config.php']],
    re: /(?:^|[\/\\=:]|file:\/\/)(?:etc[\/\\](?:passwd|shadow|hosts|group|issue|crontab)|proc[\/\\]self[\/\\]|windows[\/\\](?:system32|win\.ini)|boot\.ini|winnt[\/\\]|\.ssh[\/\\]|\.aws[\/\\]credentials|\.env\b|web\.config|\.htaccess|wp-config\.php)/,
  },
  {
    kind: 'path-traversal',
    id: 'path-file-scheme',
    gate: [['://']],
    re: /^\s*(?:file|php|zip|phar|expect|jar|netdoc|gopher|dict):\/\//,
  },
  { kind: 'path-traversal', id: 'path-null-byte', gate: [['\u0000', '%00']], re: /\u0000|%00/ },
  // --- Template (SSTI) ---
  {
    kind: 'template',
    id: 'tpl-mustache',
    gate: [['{{']],
    re: /\{\{[\s\S]{0,200}?(?:[*+\-/%()\[\]|]|\.__|config|self|request|lipsum|cycler|joiner|namespace|range|constructor|process|global|require)[\s\S]{0,200}?\}\}/,
  },
  {
    kind: 'template',
    id: 'tpl-dollar',
    gate: [['${']],
    re: /\$\{[\s\S]{0,200}?(?:[*+\-/%()\[\]]|\.|@|::|jndi|env:|sys:|java:|lower:|upper:)[\s\S]{0,200}?\}/,
  },
  {
    kind: 'template',
    id: 'tpl-hash',
    gate: [['{', '@(']],
    re: /#\{[\s\S]{0,200}?[*+\-/%()\[\].][\s\S]{0,200}?\}|\*\{[\s\S]{0,100}?[()\[\].*+]+[\s\S]{0,100}?\}|@\(\s*[\w\s+*\-/.]*[+*\-/.][\w\s+*\-/.]*\)|\{\/?php\}/,
  },
  {
    kind: 'template',
    id: 'tpl-erb',
    gate: [['%', '#']],
    re: /<%=?[\s\S]{0,300}?%>|\{%[\s\S]{0,300}?%\}|\{#[\s\S]{0,100}?#\}/,
  },
  {
    kind: 'template',
    id: 'tpl-velocity',
    gate: [['#', '$', 'freemarker.']],
    re: /#(?:set|foreach|if|eval|include|parse)\s*\(|\$class\.inspect|\[#assign|<#assign|\bfreemarker\.template/,
  },
  {
    kind: 'template',
    id: 'tpl-jndi',
    gate: [['${']],
    re: /\$\{\s*jndi\s*:|\$\{\s*(?:lower|upper|env|sys|date)\s*:/,
  },
  // --- Script (XSS) ---
  {
    kind: 'script',
    id: 'xss-tag',
    gate: [['<']],
    re: /<\s*\/?\s*(?:script|iframe|frame|frameset|object|embed|applet|meta|base|link|svg|math|style|form|isindex|template|portal|xss)\b/,
  },
  {
    kind: 'script',
    id: 'xss-handler',
    gate: [['<']],
    re: /<[a-z!][^>]*?[\s\/"'](?:on[a-z]{3,}|formaction|srcdoc|xlink:href)\s*=/,
  },
  {
    kind: 'script',
    id: 'xss-scheme',
    gate: [[':']],
    re: /(?:^|[\s"'=(<,])(?:javascript|vbscript|livescript|data\s*:\s*text\/html|data\s*:\s*image\/svg)\s*:/,
  },
  {
    kind: 'script',
    id: 'xss-data-uri',
    gate: [[':']],
    re: /\bdata\s*:\s*(?:text\/html|application\/(?:x-)?javascript|text\/javascript|image\/svg\+xml)\b/,
  },
  {
    kind: 'script',
    id: 'xss-css-expression',
    gate: [['(', ':']],
    re: /\bexpression\s*\(|-moz-binding\s*:|behavior\s*:\s*url/,
  },
  {
    kind: 'script',
    id: 'xss-js-break',
    gate: [["'", '"', '(', '`']],
    re: /['"]\s*[;)+-]\s*(?:alert|confirm|prompt|eval|fetch|document\.|window\.|top\[|self\[|location|settimeout|setinterval|function\b)|\b(?:alert|confirm|prompt)\s*(?:\(|`)\s*(?:\d|document|window|['"`]|\/)/,
  },
  {
    kind: 'script',
    id: 'xss-img-src',
    gate: [['<']],
    re: /<\s*(?:img|image|video|audio|source|input|body|details|marquee|a|div|svg)\b[^>]*?\b(?:src|href|background|poster|data)\s*=\s*["']?\s*(?:javascript|vbscript|data)\s*:/,
  },
];

/** The SQL/XSS comment tricks and encodings an attacker uses to hide a payload, undone. */
export function normalise(s: string): string {
  let v = s;
  for (let i = 0; i < 2 && /%[0-9a-f]{2}/i.test(v); i++) {
    try {
      v = decodeURIComponent(v.replace(/\+/g, ' '));
    } catch {
      v = v.replace(/%([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    }
  }
  if (v.includes('&#') || v.includes('&'))
    v = v
      .replace(/&#x([0-9a-f]{1,6});?/gi, (_m, h: string) => safeChar(parseInt(h, 16)))
      .replace(/&#(\d{1,7});?/g, (_m, d: string) => safeChar(parseInt(d, 10)))
      .replace(
        /&(lt|gt|quot|apos|amp|colon|lpar|rpar|sol|newline|tab);/gi,
        (_m, n: string) => ENTITIES[n.toLowerCase()]!,
      );
  if (v.includes('\\'))
    v = v
      .replace(/\\u\{?([0-9a-f]{4,6})\}?/gi, (_m, h: string) => safeChar(parseInt(h, 16)))
      .replace(/\\x([0-9a-f]{2})/gi, (_m, h: string) => safeChar(parseInt(h, 16)));
  // Inline comments are whitespace to SQL (UNION/**/SELECT); MySQL runs /*!…*/ bodies.
  if (v.includes('/*'))
    v = v.replace(/\/\*!?\d*([\s\S]*?)\*\//g, (_m, body: string) =>
      /^[\w\s]*$/.test(body) ? ` ${body} ` : ' ',
    );
  // Control characters and invisible separators some parsers drop.
  v = v.replace(/[\t\u000b\u000c\u00a0\u2000-\u200d\u2028\u2029\ufeff]/g, ' ');
  return v.toLowerCase();
}

const ENTITIES: Record<string, string> = {
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  amp: '&',
  colon: ':',
  lpar: '(',
  rpar: ')',
  sol: '/',
  newline: '\n',
  tab: '\t',
};

function safeChar(code: number): string {
  return Number.isFinite(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
}

/**
 * Characters without which none of the rules can match (a fast path for plain words, SKUs,
 * e-mail addresses and phone numbers: `-`, `@` and `+` alone start no rule; `--` does).
 */
const SUSPICIOUS = /[^a-z0-9 ,.!?@+-]|\.\.|--|\b(?:union|select|and|or|order|sleep|having|where)\b/i;

/**
 * The first injection pattern in `value`, or undefined for ordinary text.
 * @example
 * detectInjection("x' OR '1'='1")            // { kind: 'sql', rule: 'sql-tautology' }
 * detectInjection("O'Brien; see notes")     // undefined
 */
export function detectInjection(
  value: string,
  kinds?: ReadonlySet<InjectionKind>,
): InjectionFinding | undefined {
  if (value.length < 2 || !SUSPICIOUS.test(value)) return undefined;
  const v = normalise(value);
  const mask = charMask(v);
  for (const r of rulesFor(kinds)) {
    if (gateOpen(r.gate, mask, v) && r.rule.re.test(v)) return r.finding;
  }
  return undefined;
}

/** The rules in the order they are tried (for the test that checks each gate against its regex). */
export const INJECTION_RULES: readonly InjectionRule[] = RULES;

/** Characters gates look for, one bit each of a 32-bit mask. */
const GATE_CHARS = '$\'"`.();&|\n\r#/\\-<>=_@%:{*\u0000';
const CHAR_BIT = new Int32Array(128);
for (let i = 0; i < GATE_CHARS.length; i++) CHAR_BIT[GATE_CHARS.charCodeAt(i)] = 1 << i;
// Every digit sets one more bit.
for (const d of DIGITS) CHAR_BIT[d.charCodeAt(0)] = 1 << GATE_CHARS.length;

/** The gate characters a value holds, one pass. */
function charMask(v: string): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 128) m |= CHAR_BIT[c]!;
  }
  return m;
}

/** A gate group compiled: its characters as a mask, its longer strings with a character each needs. */
interface GateGroup {
  bits: number;
  words: ReadonlyArray<{ word: string; needs: number }>;
}

function compileGate(gate: InjectionRule['gate']): GateGroup[] {
  return gate.map((group) => {
    let bits = 0;
    const words: Array<{ word: string; needs: number }> = [];
    for (const t of group) {
      if (t.length === 1 && CHAR_BIT[t.charCodeAt(0)]) bits |= CHAR_BIT[t.charCodeAt(0)]!;
      else {
        // A string can only be there if its first gate character is (0: letters only).
        let needs = 0;
        for (let i = 0; i < t.length && needs === 0; i++) {
          const c = t.charCodeAt(i);
          if (c < 128) needs = CHAR_BIT[c]!;
        }
        words.push({ word: t, needs });
      }
    }
    return { bits, words };
  });
}

function gateOpen(groups: readonly GateGroup[], mask: number, v: string): boolean {
  for (const g of groups) {
    if ((mask & g.bits) !== 0) continue;
    let found = false;
    for (const w of g.words)
      if ((w.needs === 0 || (mask & w.needs) !== 0) && v.includes(w.word)) {
        found = true;
        break;
      }
    if (!found) return false;
  }
  return true;
}

interface CompiledRule {
  rule: InjectionRule;
  gate: GateGroup[];
  finding: InjectionFinding;
}

const ALL_RULES: CompiledRule[] = RULES.map((rule) => ({
  rule,
  gate: compileGate(rule.gate),
  finding: Object.freeze({ kind: rule.kind, rule: rule.id }),
}));
const byKinds = new WeakMap<ReadonlySet<InjectionKind>, CompiledRule[]>();

/** The compiled rules of some kinds, filtered once per set of kinds (a policy keeps its set). */
function rulesFor(kinds: ReadonlySet<InjectionKind> | undefined): CompiledRule[] {
  if (!kinds) return ALL_RULES;
  let list = byKinds.get(kinds);
  if (!list) byKinds.set(kinds, (list = ALL_RULES.filter((r) => kinds.has(r.rule.kind))));
  return list;
}

/** Whether a normalised value holds one string of every group of the rule's gate. */
export function passesGate(rule: InjectionRule, v: string): boolean {
  return gateOpen(compileGate(rule.gate), charMask(v), v);
}

/** MongoDB-style query operators as member names (`{"password": {"$ne": null}}`). */
export function isOperatorKey(key: string): boolean {
  return key.length > 1 && key.charCodeAt(0) === 0x24 /* $ */ && /^\$[a-z]+$/i.test(key);
}

/** Query parameter names that smuggle an operator (`password[$ne]=`). */
export function isOperatorParamName(name: string): boolean {
  return /\[\s*\$[a-z]+\s*\]/i.test(name);
}

export const INJECTION_KINDS: readonly InjectionKind[] = [
  'sql',
  'nosql',
  'command',
  'path-traversal',
  'template',
  'script',
];
