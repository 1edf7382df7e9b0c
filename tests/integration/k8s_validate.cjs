#!/usr/bin/env node
// Validates Kubernetes objects (what `kubectl kustomize` renders, as one JSON
// array) against the API schema of npm kubernetes-models and, for the
// Prometheus Operator kinds, @kubernetes-models/prometheus-operator (the
// versions tools/s3rver/package-lock.json pins).
//
// Two checks per object:
//  1. the package's own validator (`new Kind(obj).validate()`): required
//     fields, types, enums, formats;
//  2. no field the API does not declare. The package's validators accept
//     any extra property, so a misspelt `readinesProbe` would pass them
//     while the API server drops it (or, with strict field validation,
//     refuses the object). The declared fields are read from the package's
//     TypeScript declarations (`export interface I<Kind> { "field"?: T; }`),
//     which the package generates from the same OpenAPI schema.
// An apiVersion/kind neither package has is an error, not a pass.
//
// Usage: node k8s_validate.cjs NODE_MODULES_DIR OBJECTS.json
// Prints "ok KIND NAME" per valid object, or one line per problem
// ("KIND NAME: where: what"); exits 1 when an object has a problem, 2 on
// usage errors.
'use strict';
const fs = require('fs');
const path = require('path');

// ---- a reader for the declarations the packages generate ----

function tokenize(src, file) {
    const toks = [];
    const re = /\s+|\/\*[\s\S]*?\*\/|\/\/[^\n]*|([A-Za-z_$][\w$]*)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(-?\d+(?:\.\d+)?)|(=>|[{}()<>,;:?|=&.*\[\]-])/y;
    let m;
    while (re.lastIndex < src.length) {
        const at = re.lastIndex;
        if (!(m = re.exec(src)))
            throw new Error(`${file}: unexpected character at offset ${at}: ${src.slice(at, at + 20)}`);
        if (m[1]) toks.push({ t: 'id', v: m[1] });
        else if (m[2]) toks.push({ t: 'str', v: m[2].slice(1, -1) });
        else if (m[3]) toks.push({ t: 'num', v: m[3] });
        else if (m[4]) toks.push({ t: 'p', v: m[4] });
    }
    return toks;
}

class Parser {
    constructor(toks, file) { this.toks = toks; this.i = 0; this.file = file; }
    peek() { return this.toks[this.i]; }
    is(v) { const t = this.peek(); return t !== undefined && t.t !== 'str' && t.v === v; }
    next() { return this.toks[this.i++]; }
    expect(v) {
        const t = this.next();
        if (!t || t.v !== v || t.t === 'str')
            throw new Error(`${this.file}: expected ${v}, got ${t ? t.v : 'the end'}`);
    }
    // Skips to the end of a statement: past a balanced {...} or a ';'.
    skip() {
        let depth = 0;
        for (;;) {
            const t = this.next();
            if (!t) return;
            if (t.t === 'p' && (t.v === '{' || t.v === '(' || t.v === '[')) depth++;
            else if (t.t === 'p' && (t.v === '}' || t.v === ')' || t.v === ']')) {
                if (--depth === 0 && t.v === '}' && !this.is(';')) return;
            } else if (t.t === 'p' && t.v === ';' && depth === 0) return;
        }
    }
    type() {
        const of = [this.postfix()];
        while (this.is('|')) { this.next(); of.push(this.postfix()); }
        return of.length === 1 ? of[0] : { t: 'union', of };
    }
    postfix() {
        let ty = this.primary();
        while (this.is('[')) {
            this.next();
            if (this.is(']')) { this.next(); ty = { t: 'arr', of: ty }; continue; }
            this.type(); // an indexed access such as T["kind"]: a primitive here
            this.expect(']');
            ty = { t: 'prim' };
        }
        return ty;
    }
    primary() {
        const t = this.next();
        if (!t) throw new Error(`${this.file}: a type ends early`);
        if (t.t === 'str' || t.t === 'num') return { t: 'prim' };
        if (t.t === 'p' && t.v === '{') return this.members('}');
        if (t.t === 'p' && t.v === '(') { const ty = this.type(); this.expect(')'); return ty; }
        if (t.t !== 'id') throw new Error(`${this.file}: unexpected ${t.v} in a type`);
        let name = t.v;
        while (this.is('.')) { this.next(); name += '.' + this.next().v; }
        if (this.is('<')) {
            this.next();
            const args = [this.type()];
            while (this.is(',')) { this.next(); args.push(this.type()); }
            this.expect('>');
            if (name === 'Array' || name === 'ReadonlyArray') return { t: 'arr', of: args[0] };
            return { t: 'prim' }; // no generic types carry fields in these files
        }
        if (['string', 'number', 'boolean', 'any', 'unknown', 'null', 'undefined', 'object',
             'true', 'false', 'never'].includes(name))
            return { t: 'prim' };
        return { t: 'ref', name, file: this.file };
    }
    // `"name"?: T;` members and `[key: string]: T;` index signatures.
    members(close) {
        const obj = { t: 'obj', props: Object.create(null), index: null };
        while (!this.is(close)) {
            if (this.is('[')) {
                this.next(); this.next(); this.expect(':'); this.type(); this.expect(']');
                this.expect(':');
                obj.index = this.type();
            } else {
                const k = this.next();
                if (!k || (k.t !== 'str' && k.t !== 'id'))
                    throw new Error(`${this.file}: expected a field name, got ${k ? k.v : 'the end'}`);
                if (this.is('?')) this.next();
                this.expect(':');
                obj.props[k.v] = this.type();
            }
            if (this.is(';') || this.is(',')) this.next();
        }
        this.expect(close);
        return obj;
    }
}

class Declarations {
    constructor(modulesDir) { this.modulesDir = modulesDir; this.files = new Map(); }

    // A module path as an import names it, relative to the importing file.
    resolve(from, spec) {
        const base = spec.startsWith('.') ? path.resolve(path.dirname(from), spec)
                                          : path.join(this.modulesDir, spec);
        for (const f of [base + '.d.ts', path.join(base, 'index.d.ts')])
            if (fs.existsSync(f)) return f;
        throw new Error(`${from}: cannot find the declarations of ${spec}`);
    }

    load(file) {
        if (this.files.has(file)) return this.files.get(file);
        const decl = { imports: Object.create(null), types: Object.create(null),
                       exports: Object.create(null), extends: Object.create(null) };
        this.files.set(file, decl);
        const p = new Parser(tokenize(fs.readFileSync(file, 'utf8'), file), file);
        while (p.peek()) {
            if (p.is('import')) {
                p.next();
                if (!p.is('{')) { p.skip(); continue; }
                p.next();
                const names = [];
                while (!p.is('}')) {
                    const name = p.next().v;
                    let local = name;
                    if (p.is('as')) { p.next(); local = p.next().v; }
                    names.push([name, local]);
                    if (p.is(',')) p.next();
                }
                p.expect('}'); p.expect('from');
                const spec = p.next().v;
                if (p.is(';')) p.next();
                for (const [name, local] of names) decl.imports[local] = { spec, name };
            } else if (p.is('export')) {
                p.next();
                if (p.is('declare')) p.next();
                if (p.is('interface')) {
                    p.next();
                    const name = p.next().v;
                    const ext = [];
                    if (p.is('extends')) {
                        p.next();
                        ext.push(p.next().v);
                        while (p.is(',')) { p.next(); ext.push(p.next().v); }
                    }
                    p.expect('{');
                    decl.types[name] = p.members('}');
                    decl.extends[name] = ext;
                } else if (p.is('type')) {
                    p.next();
                    const name = p.next().v;
                    p.expect('=');
                    decl.types[name] = p.type();
                    if (p.is(';')) p.next();
                } else if (p.is('{')) {
                    p.next();
                    while (!p.is('}')) {
                        const local = p.next().v;
                        let name = local;
                        if (p.is('as')) { p.next(); name = p.next().v; }
                        decl.exports[name] = local;
                        if (p.is(',')) p.next();
                    }
                    p.expect('}');
                    if (p.is('from')) { p.next(); p.next(); }
                    if (p.is(';')) p.next();
                } else {
                    p.skip(); // classes, functions, re-exports
                }
            } else {
                p.skip();
            }
        }
        return decl;
    }

    // The type a name denotes in a file: its own declaration, an export
    // alias of one, or an import from another file.
    lookup(file, name, depth = 0) {
        if (depth > 20) throw new Error(`${file}: ${name} refers to itself`);
        const d = this.load(file);
        if (d.exports[name] && d.exports[name] !== name) return this.lookup(file, d.exports[name], depth + 1);
        if (d.types[name]) {
            let ty = d.types[name];
            for (const base of d.extends[name] || []) {
                if (base === 'TypeMeta') continue; // apiVersion and kind, declared anyway
                const b = this.deref(this.lookup(file, base, depth + 1));
                if (b.t === 'obj') ty = { t: 'obj', props: Object.assign(Object.create(null), b.props, ty.props),
                                          index: ty.index || b.index };
            }
            return ty;
        }
        if (d.imports[name]) {
            const imp = d.imports[name];
            return this.lookup(this.resolve(file, imp.spec), imp.name, depth + 1);
        }
        throw new Error(`${file}: ${name} is not declared`);
    }

    deref(ty) {
        for (let n = 0; ty.t === 'ref'; n++) {
            if (n > 20) throw new Error(`${ty.file}: ${ty.name} refers to itself`);
            ty = this.lookup(ty.file, ty.name);
        }
        return ty;
    }
}

// Every field of value that its type does not declare, as "path: ...".
function unknownFields(decls, value, ty, where, out) {
    ty = decls.deref(ty);
    if (value === null || typeof value !== 'object') return;
    if (ty.t === 'arr') {
        if (Array.isArray(value)) value.forEach((v, i) => unknownFields(decls, v, ty.of, `${where}[${i}]`, out));
    } else if (ty.t === 'obj') {
        if (Array.isArray(value)) return;
        for (const [k, v] of Object.entries(value)) {
            const at = where ? `${where}.${k}` : k;
            if (k in ty.props) unknownFields(decls, v, ty.props[k], at, out);
            else if (ty.index) unknownFields(decls, v, ty.index, at, out);
            else out.push(`${at}: unknown field "${k}"`);
        }
    } else if (ty.t === 'union') {
        // The first object (or array) branch that fits: the declarations
        // use unions of objects nowhere that matters here.
        let best = null;
        for (const b of ty.of) {
            const r = decls.deref(b);
            if (r.t === 'prim') continue;
            const found = [];
            unknownFields(decls, value, r, where, found);
            if (found.length === 0) return;
            if (best === null || found.length < best.length) best = found;
        }
        if (best) out.push(...best);
    }
}

// ---- kinds ----

// apiVersion -> the directory of its models. The core group is "v1".
function modelDir(modulesDir, apiVersion) {
    const roots = [path.join(modulesDir, 'kubernetes-models'),
                   path.join(modulesDir, '@kubernetes-models', 'prometheus-operator')];
    if (typeof apiVersion !== 'string' || !/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion))
        return null;
    for (const root of roots) {
        const dir = path.join(root, apiVersion);
        if (fs.existsSync(dir)) return dir;
    }
    return null;
}

function validateObject(modulesDir, decls, obj) {
    const kind = obj && obj.kind, apiVersion = obj && obj.apiVersion;
    const name = (obj && obj.metadata && obj.metadata.name) || '(no name)';
    const label = `${kind} ${name}`;
    const dir = modelDir(modulesDir, apiVersion);
    const js = dir && typeof kind === 'string' && /^[A-Z][A-Za-z0-9]*$/.test(kind) ?
        path.join(dir, kind + '.js') : null;
    if (!js || !fs.existsSync(js))
        return [`${label}: no schema for kind ${kind} of apiVersion ${apiVersion}`];
    const Model = require(js)[kind];
    if (!Model || Model.kind !== kind || Model.apiVersion !== apiVersion)
        return [`${label}: ${kind} is not an object kind of ${apiVersion}`];
    const problems = [];
    try {
        new Model(obj).validate();
    } catch (e) {
        const errs = e.errors || [];
        if (errs.length === 0) problems.push(`${label}: ${e.message}`);
        for (const err of errs)
            problems.push(`${label}: ${err.instancePath || '/'}: ${err.message}` +
                          (err.params && err.params.allowedValues ? ` (${err.params.allowedValues.join(', ')})` : ''));
    }
    const found = [];
    unknownFields(decls, obj, decls.lookup(path.join(dir, kind + '.d.ts'), 'I' + kind), '', found);
    for (const f of found) problems.push(`${label}: ${f}`);
    return problems;
}

function main(argv) {
    if (argv.length !== 2) {
        process.stderr.write('usage: node k8s_validate.cjs NODE_MODULES_DIR OBJECTS.json\n');
        return 2;
    }
    const [modulesDir, file] = argv;
    let objs;
    try {
        objs = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
        process.stderr.write(`k8s_validate: ${file}: ${e.message}\n`);
        return 2;
    }
    if (!Array.isArray(objs)) {
        process.stderr.write(`k8s_validate: ${file}: expected a JSON array of objects\n`);
        return 2;
    }
    const decls = new Declarations(modulesDir);
    let bad = 0;
    for (const obj of objs) {
        const problems = validateObject(modulesDir, decls, obj);
        if (problems.length === 0) {
            process.stdout.write(`ok ${obj.kind} ${obj.metadata.name}\n`);
        } else {
            bad++;
            for (const p of problems) process.stdout.write(p + '\n');
        }
    }
    return bad ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
