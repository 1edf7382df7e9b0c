#!/usr/bin/env node
// Validates Grafana dashboard JSON files against the dashboard schema of npm
// @grafana/schema (the version tools/s3rver/package-lock.json pins).
//
// The package ships the schema as TypeScript declarations generated from
// Grafana's CUE kinds, plus the enums and defaults as JavaScript; it has no
// JSON Schema, and no TypeScript compiler is installed here. So this script
// reads the generated declarations it needs (the dashboard kind, the common
// types, each panel plugin's options and field config), and checks every
// value the way tsc checks an object literal: required properties present,
// no property the type does not declare, every value of its declared type
// (string/number/boolean, literal unions, enums, arrays, records, nested
// objects). The enums it parsed are compared with the ones the package
// exports at run time, so a declaration it misread fails loudly, and
// schemaVersion must be the one the package's defaultDashboard carries.
//
// Usage: node dashboard_schema.cjs SCHEMA_DIR FILE.json...
// Prints "ok FILE" per valid file, or one line per problem; exits 1 when a
// file has a problem, 2 on usage errors.
'use strict';
const fs = require('fs');
const path = require('path');

// ---- a reader for the subset of TypeScript the generated files use ----

function tokenize(src) {
    const toks = [];
    const re = /\s+|\/\*[\s\S]*?\*\/|\/\/[^\n]*|([A-Za-z_$][\w$]*)|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?)|([{}()<>,;:?|=&.*\[\]-])/y;
    let m;
    while (re.lastIndex < src.length) {
        const at = re.lastIndex;
        if (!(m = re.exec(src)))
            throw new Error(`unexpected character at offset ${at}: ${src.slice(at, at + 20)}`);
        if (m[1]) toks.push({ t: 'id', v: m[1] });
        else if (m[2]) toks.push({ t: 'str', v: JSON.parse('"' + m[2].slice(1, -1).replace(/"/g, '\\"') + '"') });
        else if (m[3]) toks.push({ t: 'num', v: Number(m[3]) });
        else if (m[4]) toks.push({ t: 'p', v: m[4] });
    }
    return toks;
}

class Parser {
    constructor(toks, file) { this.toks = toks; this.i = 0; this.file = file; }
    peek(k = 0) { return this.toks[this.i + k]; }
    is(v, k = 0) { const t = this.peek(k); return t && t.v === v && (t.t === 'p' || t.t === 'id'); }
    next() { return this.toks[this.i++]; }
    expect(v) {
        const t = this.next();
        if (!t || t.v !== v) throw new Error(`${this.file}: expected ${v}, got ${t ? t.v : 'end'}`);
        return t;
    }
    ident() {
        const t = this.next();
        if (!t || t.t !== 'id') throw new Error(`${this.file}: expected a name, got ${t ? t.v : 'end'}`);
        return t.v;
    }
    skipStatement() {
        let depth = 0;
        for (;;) {
            const t = this.next();
            if (!t) return;
            if (t.t === 'p' && '{(<'.includes(t.v)) depth++;
            else if (t.t === 'p' && '})>'.includes(t.v)) depth--;
            else if (t.t === 'p' && t.v === ';' && depth === 0) return;
        }
    }
    // A module: { decls: name -> declaration, aliases: name -> module path }
    module() {
        const mod = { decls: {}, aliases: {}, file: this.file };
        while (this.peek()) {
            if (this.is('import')) {
                this.next(); this.expect('*'); this.expect('as');
                const alias = this.ident(); this.expect('from');
                mod.aliases[alias] = this.next().v; this.expect(';');
            } else if (this.is('export')) {
                this.next();
                this.declaration(mod);
            } else {
                throw new Error(`${this.file}: unexpected ${this.peek().v}`);
            }
        }
        return mod;
    }
    declaration(mod) {
        if (this.is('declare') && this.is('const', 1)) { this.skipStatement(); return; }
        if (this.is('declare') && this.is('enum', 1)) {
            this.next(); this.next();
            const name = this.ident(), members = {};
            this.expect('{');
            while (!this.is('}')) {
                const key = this.ident(); this.expect('=');
                const t = this.next();
                if (t.t !== 'str' && t.t !== 'num') throw new Error(`${this.file}: enum ${name}.${key}`);
                members[key] = t.v;
                if (this.is(',')) this.next();
            }
            this.expect('}');
            mod.decls[name] = { k: 'enum', name, members };
            return;
        }
        if (this.is('interface')) {
            this.next();
            const name = this.ident(), ext = [];
            if (this.is('extends')) {
                this.next();
                do { ext.push(this.qualified()); } while (this.is(',') && this.next());
            }
            mod.decls[name] = { k: 'interface', name, ext, props: this.objectBody() };
            return;
        }
        if (this.is('type')) {
            this.next();
            const name = this.ident(); this.expect('=');
            mod.decls[name] = { k: 'alias', name, type: this.union() };
            this.expect(';');
            return;
        }
        throw new Error(`${this.file}: unsupported export ${this.peek().v}`);
    }
    qualified() {
        const parts = [this.ident()];
        while (this.is('.')) { this.next(); parts.push(this.ident()); }
        return parts;
    }
    objectBody() {
        const props = {};
        this.expect('{');
        while (!this.is('}')) {
            const name = this.ident();
            let optional = false;
            if (this.is('?')) { this.next(); optional = true; }
            this.expect(':');
            props[name] = { optional, type: this.union() };
            this.expect(';');
        }
        this.expect('}');
        return props;
    }
    union() {
        const of = [this.primary()];
        while (this.is('|')) { this.next(); of.push(this.primary()); }
        return of.length === 1 ? of[0] : { k: 'union', of };
    }
    primary() {
        const t = this.peek();
        if (t.t === 'p' && t.v === '(') { this.next(); const u = this.union(); this.expect(')'); return u; }
        if (t.t === 'p' && t.v === '{') return { k: 'object', props: this.objectBody() };
        if (t.t === 'str' || t.t === 'num') { this.next(); return { k: 'lit', value: t.v }; }
        const name = this.qualified(), args = [];
        if (this.is('<')) {
            this.next();
            do { args.push(this.union()); } while (this.is(',') && this.next());
            this.expect('>');
        }
        return { k: 'ref', name, args };
    }
}

function loadModule(file) {
    return new Parser(tokenize(fs.readFileSync(file, 'utf8')), file).module();
}

// ---- resolving names ----

const PRIMS = new Set(['string', 'number', 'boolean', 'unknown', 'any', 'null']);

class Schema {
    constructor(dir) {
        const types = path.join(dir, 'dist', 'types');
        this.types = types;
        // '@grafana/schema' as the panel plugins import it: the common types
        // and the dashboard kind (dist/types/index.gen.d.ts re-exports both).
        this.root = this.merge([loadModule(path.join(types, 'common', 'common.gen.d.ts')),
                                loadModule(path.join(types, 'raw', 'dashboard', 'x', 'types.gen.d.ts'))]);
        this.dashboard = loadModule(path.join(types, 'raw', 'dashboard', 'x', 'types.gen.d.ts'));
        this.panels = {};
    }
    merge(mods) {
        const m = { decls: {}, aliases: {}, file: mods.map((x) => x.file).join('+') };
        for (const x of mods.slice().reverse()) Object.assign(m.decls, x.decls);
        return m;
    }
    // The options and field config of a panel plugin ("state-timeline" is
    // the statetimeline kind), or null when the package has no such plugin.
    panel(type) {
        if (!(type in this.panels)) {
            const file = path.join(this.types, 'raw', 'composable', type.replace(/-/g, ''),
                                   'panelcfg', 'x', 'types.gen.d.ts');
            this.panels[type] = fs.existsSync(file) ? loadModule(file) : null;
        }
        return this.panels[type];
    }
    // A declaration by name in mod, following imports of '@grafana/schema'.
    lookup(mod, name) {
        if (name.length === 2 && mod.aliases[name[0]] === '@grafana/schema')
            return { decl: this.root.decls[name[1]], mod: this.root };
        if (name.length === 1) {
            if (mod.decls[name[0]]) return { decl: mod.decls[name[0]], mod };
            if (this.root.decls[name[0]]) return { decl: this.root.decls[name[0]], mod: this.root };
        }
        if (name.length === 2) { // Enum.Member
            const e = this.lookup(mod, [name[0]]);
            if (e && e.decl && e.decl.k === 'enum' && name[1] in e.decl.members)
                return { decl: { k: 'lit', value: e.decl.members[name[1]] }, mod };
        }
        throw new Error(`${mod.file}: unknown type ${name.join('.')}`);
    }
    // Every property of an interface, its bases' included.
    props(mod, decl) {
        const all = {};
        for (const base of decl.ext) {
            const b = this.lookup(mod, base);
            Object.assign(all, this.props(b.mod, b.decl));
        }
        return Object.assign(all, decl.props);
    }
}

// ---- checking values ----

function kindOf(v) {
    if (v === null) return 'null';
    if (Array.isArray(v)) return 'array';
    return typeof v;
}

class Checker {
    constructor(schema) { this.schema = schema; this.errors = []; }
    // Problems of value against type (in mod), as strings; [] when it fits.
    check(value, type, mod, where) {
        switch (type.k) {
        case 'lit':
            return value === type.value ? [] : [`${where}: ${JSON.stringify(value)} is not ${JSON.stringify(type.value)}`];
        case 'union': {
            let best = null;
            for (const t of type.of) {
                const errs = this.check(value, t, mod, where);
                if (errs.length === 0) return [];
                if (!best || errs.length < best.length) best = errs;
            }
            const lits = type.of.filter((t) => t.k === 'lit').map((t) => JSON.stringify(t.value));
            return lits.length === type.of.length
                ? [`${where}: ${JSON.stringify(value)} is not one of ${lits.join(', ')}`] : best;
        }
        case 'object':
            return this.checkProps(value, type.props, mod, where);
        case 'ref':
            return this.checkRef(value, type, mod, where);
        default:
            throw new Error(`type kind ${type.k}`);
        }
    }
    checkRef(value, type, mod, where) {
        const name = type.name.join('.');
        if (type.name.length === 1 && PRIMS.has(name)) {
            if (name === 'unknown' || name === 'any') return [];
            return kindOf(value) === name ? [] : [`${where}: ${JSON.stringify(value)} is not a ${name}`];
        }
        if (name === 'Array') {
            if (!Array.isArray(value)) return [`${where}: not an array`];
            return value.flatMap((v, i) => this.check(v, type.args[0], mod, `${where}[${i}]`));
        }
        if (name === 'Record') {
            if (kindOf(value) !== 'object') return [`${where}: not an object`];
            return Object.entries(value).flatMap(([k, v]) => this.check(v, type.args[1], mod, `${where}.${k}`));
        }
        const { decl, mod: dmod } = this.schema.lookup(mod, type.name);
        return this.checkDecl(value, decl, dmod, where);
    }
    checkDecl(value, decl, mod, where) {
        switch (decl.k) {
        case 'lit':
            return value === decl.value ? [] : [`${where}: ${JSON.stringify(value)} is not ${JSON.stringify(decl.value)}`];
        case 'enum': {
            const vals = Object.values(decl.members);
            return vals.includes(value) ? []
                : [`${where}: ${JSON.stringify(value)} is not a ${decl.name} (${vals.map((v) => JSON.stringify(v)).join(', ')})`];
        }
        case 'alias':
            return this.check(value, decl.type, mod, where);
        case 'interface':
            return this.checkProps(value, this.schema.props(mod, decl), mod, where);
        default:
            throw new Error(`declaration kind ${decl.k}`);
        }
    }
    // tsc's object literal check: required properties, no undeclared ones.
    checkProps(value, props, mod, where) {
        if (kindOf(value) !== 'object') return [`${where}: not an object`];
        const errs = [];
        for (const [k, p] of Object.entries(props))
            if (!p.optional && !(k in value)) errs.push(`${where}: required property ${k} is missing`);
        for (const [k, v] of Object.entries(value)) {
            if (!(k in props)) errs.push(`${where}: property ${k} is not in the schema`);
            else errs.push(...this.check(v, props[k].type, mod, `${where}.${k}`));
        }
        return errs;
    }
    // A reference to a type declared by name, for check().
    named(name) {
        return { k: 'ref', name: [name], args: [] };
    }
}

// The package has no type for a Prometheus query: a target is the common
// DataQuery plus the Prometheus data source's own fields, listed here.
const PROM_QUERY = {
    expr: { optional: false, type: { k: 'ref', name: ['string'], args: [] } },
    legendFormat: { optional: true, type: { k: 'ref', name: ['string'], args: [] } },
    instant: { optional: true, type: { k: 'ref', name: ['boolean'], args: [] } },
    range: { optional: true, type: { k: 'ref', name: ['boolean'], args: [] } },
    format: { optional: true, type: { k: 'union', of: ['time_series', 'table', 'heatmap'].map((v) => ({ k: 'lit', value: v })) } },
    interval: { optional: true, type: { k: 'ref', name: ['string'], args: [] } },
    editorMode: { optional: true, type: { k: 'union', of: ['code', 'builder'].map((v) => ({ k: 'lit', value: v })) } },
    exemplar: { optional: true, type: { k: 'ref', name: ['boolean'], args: [] } },
};

function checkPanel(ck, panel, where) {
    const s = ck.schema, dash = s.dashboard;
    if (panel.type === 'row') {
        const errs = ck.check(panel, ck.named('RowPanel'), dash, where);
        (panel.panels || []).forEach((p, i) => errs.push(...checkPanel(ck, p, `${where}.panels[${i}]`)));
        return errs;
    }
    const errs = ck.check(panel, ck.named('Panel'), dash, where);
    const plugin = s.panel(String(panel.type));
    if (!plugin) return errs.concat([`${where}: panel type ${panel.type} is not a panel plugin of @grafana/schema`]);
    if (!plugin.decls.Options) errs.push(`${where}: plugin ${panel.type} declares no Options`);
    else errs.push(...ck.check(panel.options, ck.named('Options'), plugin, `${where}.options`));
    const custom = panel.fieldConfig && panel.fieldConfig.defaults && panel.fieldConfig.defaults.custom;
    if (custom !== undefined) {
        if (!plugin.decls.FieldConfig) errs.push(`${where}: plugin ${panel.type} has no custom field config`);
        else errs.push(...ck.check(custom, ck.named('FieldConfig'), plugin, `${where}.fieldConfig.defaults.custom`));
    }
    const query = { k: 'object', props: Object.assign({}, s.props(s.root, s.root.decls.DataQuery), PROM_QUERY) };
    (panel.targets || []).forEach((t, i) => errs.push(...ck.check(t, query, s.root, `${where}.targets[${i}]`)));
    return errs;
}

function checkDashboard(ck, doc, defaults) {
    const dash = ck.schema.dashboard;
    const { panels, ...top } = doc;
    const errs = ck.check(top, ck.named('Dashboard'), dash, '$');
    if (doc.schemaVersion !== defaults.schemaVersion)
        errs.push(`$.schemaVersion: ${doc.schemaVersion}, the package's dashboards are ${defaults.schemaVersion}`);
    if (!Array.isArray(panels)) return errs.concat(['$.panels: not an array']);
    panels.forEach((p, i) => errs.push(...checkPanel(ck, p, `$.panels[${i}]`)));
    return errs;
}

// The enums as parsed must be the enums the package exports.
function crossCheckEnums(schema, runtime) {
    const errs = [];
    for (const decl of Object.values(schema.root.decls)) {
        if (decl.k !== 'enum' || !(decl.name in runtime)) continue;
        for (const [k, v] of Object.entries(decl.members))
            if (runtime[decl.name][k] !== v)
                errs.push(`enum ${decl.name}.${k}: declarations say ${JSON.stringify(v)}, the package ${JSON.stringify(runtime[decl.name][k])}`);
    }
    return errs;
}

function main(argv) {
    if (argv.length < 2) {
        process.stderr.write('usage: dashboard_schema.cjs SCHEMA_DIR FILE.json...\n');
        return 2;
    }
    const [dir, ...files] = argv;
    const schema = new Schema(dir);
    const runtime = require(path.resolve(dir));
    const bad = crossCheckEnums(schema, runtime);
    bad.forEach((e) => process.stdout.write(`schema: ${e}\n`));
    let rc = bad.length ? 1 : 0;
    for (const file of files) {
        const ck = new Checker(schema);
        const errs = checkDashboard(ck, JSON.parse(fs.readFileSync(file, 'utf8')), runtime.defaultDashboard);
        if (errs.length) {
            rc = 1;
            errs.forEach((e) => process.stdout.write(`${path.basename(file)}: ${e}\n`));
        } else {
            process.stdout.write(`ok ${path.basename(file)}\n`);
        }
    }
    return rc;
}

process.exitCode = main(process.argv.slice(2));
