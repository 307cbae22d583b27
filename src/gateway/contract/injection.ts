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

interface Rule {
  kind: InjectionKind;
  id: string;
  re: RegExp;
}

/** Commands that are also English words: only with a shell-looking argument or alone. */
const CMD_WORDS = String.raw`(?:cat|ls|id|echo|printf|sleep|ping|env|kill|touch|head|tail|find|type|dir|ver|export|exec|eval|su|sed|dig|timeout|hostname|passwd|rm|nc|sh|dash|net\s+user)`;
/** Commands nobody writes in prose after a separator. */
const CMD_STRONG = String.raw`(?:whoami|uname|wget|curl|ncat|netcat|bash|zsh|ksh|python[23]?|perl|ruby|php|chmod|chown|powershell|pwsh|cmd(?:\.exe)?|ifconfig|ipconfig|printenv|mkfifo|base64|telnet|ssh|scp|tftp|ftp|nslookup|systeminfo|tasklist|awk|xargs|sudo|crontab|socat|openssl|busybox|nohup)`;
const CMD = String.raw`(?:${CMD_WORDS}|${CMD_STRONG})`;
const SQL_CMP = String.raw`(?:=|<>|!=|<=?|>=?|\blike\b|\brlike\b|\bregexp\b|\bis\b)`;
const SQL_ATOM = String.raw`(?:\d+|'[^']*'?|"[^"]*"?|null|true|false|\w+\(\))`;

const RULES: Rule[] = [
  // --- NoSQL (operators in text; operator keys are checked separately) ---
  {
    kind: 'nosql',
    id: 'nosql-operator',
    re: /(?:^|[{,\[\s"'])\$(?:where|ne|eq|gt|gte|lt|lte|in|nin|regex|exists|expr|function|accumulator|or|and|nor|not|elemmatch|size|type|mod|all|text|jsonschema|lookup)\b\s*["'\]]?\s*[:=\]]/,
  },
  {
    kind: 'nosql',
    id: 'nosql-js',
    re: /['"]\s*(?:;|\|\||&&)\s*(?:return\b|this\.|sleep\s*\(|while\s*\(|db\.)/,
  },
  {
    kind: 'nosql',
    id: 'nosql-js-tautology',
    re: /['"]\s*(?:\|\||&&)\s*(?:'[^']*'|"[^"]*"|\d+|true)\s*[=!]==?/,
  },
  {
    kind: 'nosql',
    id: 'nosql-where-js',
    re: /\bthis\.\w+\s*(?:==|!=|\.match\()|\bdb\.(?:getcollection|\w+\.find)\s*\(/,
  },
  // --- SQL ---
  { kind: 'sql', id: 'sql-union', re: /\bunion(?:\s+(?:all|distinct))?\s*\(?\s*select\b/ },
  {
    kind: 'sql',
    id: 'sql-tautology',
    re: new RegExp(
      String.raw`(?:\b(?:and|or|xor|having|where)\b|&&|\|\|)\s*(?:not\s+)?\(?\s*${SQL_ATOM}\s*${SQL_CMP}\s*\(?\s*${SQL_ATOM}`,
    ),
  },
  {
    kind: 'sql',
    id: 'sql-quote-break',
    re: /['"`)]\s*(?:;|\b(?:and|or|xor|union|order\s+by|group\s+by|having|limit|procedure|into)\b)[\s\S]*?(?:--|#|\/\*|;|=|\bselect\b|\bsleep\b|\bnull\b)/,
  },
  { kind: 'sql', id: 'sql-comment-tail', re: /['"`)]\s*(?:--(?:\s|$|-)|#\s*$|\/\*)/ },
  {
    kind: 'sql',
    id: 'sql-stacked',
    re: /;\s*(?:select|insert|update|delete|drop|create|alter|truncate|exec(?:ute)?|declare|shutdown|grant|revoke|waitfor|call\s+\w+\s*\(|merge\s+into|replace\s+into|set\s+@|copy\s+\w+\s+(?:from|to))\b/,
  },
  {
    kind: 'sql',
    id: 'sql-function',
    re: /\b(?:sleep|benchmark|pg_sleep|waitfor\s+delay|extractvalue|updatexml|load_file|utl_inaddr\.get_host_address|dbms_pipe\.receive_message|randomblob|sys_eval|xp_cmdshell|sp_executesql|make_set|elt|gtid_subset|json_keys|exp\(~)\s*\(/,
  },
  { kind: 'sql', id: 'sql-waitfor', re: /\bwaitfor\s+(?:delay|time)\s+'/ },
  {
    kind: 'sql',
    id: 'sql-catalog',
    re: /\b(?:information_schema|sqlite_master|sqlite_schema|pg_catalog|sysobjects|syscolumns|mysql\.user|all_tables|user_tables|pg_shadow|sys\.tables)\b|@@(?:version|datadir|hostname|servername)\b/,
  },
  { kind: 'sql', id: 'sql-into-file', re: /\binto\s+(?:out|dump)file\b/ },
  {
    kind: 'sql',
    id: 'sql-select-from',
    re: /\bselect\b[\s\S]{0,80}?\bfrom\b[\s\S]{0,40}?(?:--|#|\/\*|;|\bwhere\b[\s\S]*=|\blimit\b\s*\d|\bdual\b)/,
  },
  { kind: 'sql', id: 'sql-order-by-probe', re: /(?:['")]|\d)\s*\border\s+by\s+\d+\s*(?:--|#|\/\*|$)/ },
  {
    kind: 'sql',
    id: 'sql-cast',
    re: /\b(?:cast|convert)\s*\([\s\S]{0,60}\b(?:as|using)\b[\s\S]{0,30}\)|\bchar\s*\(\s*\d+\s*(?:,\s*\d+\s*)+\)|\bchr\s*\(\s*\d+\s*\)\s*(?:\|\||\+)/,
  },
  { kind: 'sql', id: 'sql-hex-literal', re: /['")]\s*(?:and|or|=)[\s\S]*\b0x[0-9a-f]{4,}\b/ },
  // --- OS command ---
  {
    kind: 'command',
    id: 'cmd-separator',
    re: new RegExp(
      String.raw`(?:;|&&?|\|\|?|\n|\r|%0a)\s*(?:(?:\/(?:usr\/)?s?bin\/)?${CMD_WORDS}(?:\s+[-/$'"~.\\%]|\s+\d+\s*(?:$|[;|&#])|\s+[\w-]+\.[\w-]+\.?[\w.-]*(?:\s|$)|\s*$|\s*[;|&\`)<>#]|\$\{?ifs)|(?:\/(?:usr\/)?s?bin\/)?${CMD_STRONG}\b|\/(?:usr\/)?s?bin\/\w+)`,
    ),
  },
  {
    kind: 'command',
    id: 'cmd-substitution',
    re: new RegExp(String.raw`\$\(\(?\s*[\w/.'"-]|\`\s*(?:\/(?:usr\/)?s?bin\/)?${CMD}\b[^\`]*\``),
  },
  { kind: 'command', id: 'cmd-ifs', re: /\$\{?ifs\}?|\$\{?path:?\d|\$\{?home\}?\/|\benv\s*-i\b/ },
  {
    kind: 'command',
    id: 'cmd-redirect',
    re: /(?:>|>>|<)\s*\/(?:etc|tmp|dev|proc|var)\/|\/dev\/(?:tcp|udp)\/|\b(?:bash|sh)\s+-[ci]\b|\|\s*(?:bash|sh|zsh)\b/,
  },
  // --- Path traversal ---
  {
    kind: 'path-traversal',
    id: 'path-dotdot',
    re: /^\s*\.\.\s*$|(?:^|[\/\\])\.\.(?:[\/\\]|$)|\.\.[\/\\]{1,2}\.\.|\.\.\\|^\.\.[\/\\]/,
  },
  {
    kind: 'path-traversal',
    id: 'path-sensitive-file',
    re: /(?:^|[\/\\=:]|file:\/\/)(?:etc[\/\\](?:passwd|shadow|hosts|group|issue|crontab)|proc[\/\\]self[\/\\]|windows[\/\\](?:system32|win\.ini)|boot\.ini|winnt[\/\\]|\.ssh[\/\\]|\.aws[\/\\]credentials|\.env\b|web\.config|\.htaccess|wp-config\.php)/,
  },
  {
    kind: 'path-traversal',
    id: 'path-file-scheme',
    re: /^\s*(?:file|php|zip|phar|expect|jar|netdoc|gopher|dict):\/\//,
  },
  { kind: 'path-traversal', id: 'path-null-byte', re: /\u0000|%00/ },
  // --- Template (SSTI) ---
  {
    kind: 'template',
    id: 'tpl-mustache',
    re: /\{\{[\s\S]{0,200}?(?:[*+\-/%()\[\]|]|\.__|config|self|request|lipsum|cycler|joiner|namespace|range|constructor|process|global|require)[\s\S]{0,200}?\}\}/,
  },
  {
    kind: 'template',
    id: 'tpl-dollar',
    re: /\$\{[\s\S]{0,200}?(?:[*+\-/%()\[\]]|\.|@|::|jndi|env:|sys:|java:|lower:|upper:)[\s\S]{0,200}?\}/,
  },
  {
    kind: 'template',
    id: 'tpl-hash',
    re: /#\{[\s\S]{0,200}?[*+\-/%()\[\].][\s\S]{0,200}?\}|\*\{[\s\S]{0,100}?[()\[\].*+]+[\s\S]{0,100}?\}|@\(\s*[\w\s+*\-/.]*[+*\-/.][\w\s+*\-/.]*\)|\{\/?php\}/,
  },
  { kind: 'template', id: 'tpl-erb', re: /<%=?[\s\S]{0,300}?%>|\{%[\s\S]{0,300}?%\}|\{#[\s\S]{0,100}?#\}/ },
  {
    kind: 'template',
    id: 'tpl-velocity',
    re: /#(?:set|foreach|if|eval|include|parse)\s*\(|\$class\.inspect|\[#assign|<#assign|\bfreemarker\.template/,
  },
  { kind: 'template', id: 'tpl-jndi', re: /\$\{\s*jndi\s*:|\$\{\s*(?:lower|upper|env|sys|date)\s*:/ },
  // --- Script (XSS) ---
  {
    kind: 'script',
    id: 'xss-tag',
    re: /<\s*\/?\s*(?:script|iframe|frame|frameset|object|embed|applet|meta|base|link|svg|math|style|form|isindex|template|portal|xss)\b/,
  },
  {
    kind: 'script',
    id: 'xss-handler',
    re: /<[a-z!][^>]*?[\s\/"'](?:on[a-z]{3,}|formaction|srcdoc|xlink:href)\s*=/,
  },
  {
    kind: 'script',
    id: 'xss-scheme',
    re: /(?:^|[\s"'=(<,])(?:javascript|vbscript|livescript|data\s*:\s*text\/html|data\s*:\s*image\/svg)\s*:/,
  },
  {
    kind: 'script',
    id: 'xss-data-uri',
    re: /\bdata\s*:\s*(?:text\/html|application\/(?:x-)?javascript|text\/javascript|image\/svg\+xml)\b/,
  },
  { kind: 'script', id: 'xss-css-expression', re: /\bexpression\s*\(|-moz-binding\s*:|behavior\s*:\s*url/ },
  {
    kind: 'script',
    id: 'xss-js-break',
    re: /['"]\s*[;)+-]\s*(?:alert|confirm|prompt|eval|fetch|document\.|window\.|top\[|self\[|location|settimeout|setinterval|function\b)|\b(?:alert|confirm|prompt)\s*(?:\(|`)\s*(?:\d|document|window|['"`]|\/)/,
  },
  {
    kind: 'script',
    id: 'xss-img-src',
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
  for (const r of RULES) {
    if (kinds && !kinds.has(r.kind)) continue;
    if (r.re.test(v)) return { kind: r.kind, rule: r.id };
  }
  return undefined;
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
