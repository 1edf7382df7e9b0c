// Parses Terraform files with @cdktf/hcl2json (HashiCorp's HCL parser built
// to WebAssembly; tools/s3rver/node_modules) for test_deploy_terraform.py.
//
//   node hcl_parse.cjs FILE.tf...
//
// prints one JSON object: {"FILE.tf": {"body": <hcl2json's JSON>, "refs":
// [{"at": [key, ...], "refs": ["var.x", "google_x.y.z", ...]}, ...]}, ...}
// where "at" is the JSON path of a string (an object key or a value) that
// holds an expression and "refs" what the parser finds referenced in it
// (for-expression iterators are not references). A file that does not
// parse is an error: its name and the parser's message on stderr, exit 1.
'use strict';
const fs = require('fs');
const path = require('path');

const MODULES = path.join(__dirname, '..', '..', 'tools', 's3rver', 'node_modules');
const hcl = require(path.join(MODULES, '@cdktf', 'hcl2json'));

async function collect(node, at, out) {
    if (typeof node === 'string') {
        if (node.includes('${')) {
            const refs = await hcl.getReferencesInExpression('expr.tf', node);
            out.push({ at, refs: refs.map((r) => r.value) });
        }
    } else if (Array.isArray(node)) {
        for (let i = 0; i < node.length; i++)
            await collect(node[i], at.concat([i]), out);
    } else if (node !== null && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
            if (k.includes('${'))
                await collect(k, at.concat([k]), out);
            await collect(v, at.concat([k]), out);
        }
    }
}

async function main(files) {
    if (files.length === 0) {
        process.stderr.write('usage: node hcl_parse.cjs FILE.tf...\n');
        process.exit(2);
    }
    const result = {};
    for (const f of files) {
        let body;
        try {
            body = await hcl.parse(path.basename(f), fs.readFileSync(f, 'utf8'));
        } catch (e) {
            process.stderr.write(`${f}: ${e.message || e}\n`);
            process.exit(1);
        }
        const refs = [];
        await collect(body, [], refs);
        result[f] = { body, refs };
    }
    process.stdout.write(JSON.stringify(result) + '\n');
}

main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`hcl_parse.cjs: ${e.stack || e}\n`);
    process.exit(1);
});
