"""The AWS SDK for JavaScript v3 (`@aws-sdk/client-lambda` from npm, installed by
scripts/prepare-tests) as a client of the function URL operations and of
InvokeWithResponseStream, whose event stream it decodes itself."""

import json
import os
import subprocess
from pathlib import Path

from harness import REPO
from helpers import ACCESS_KEY, REGION, SECRET_KEY
from invoke_support import fn_name, mlam  # noqa: F401 - fixtures
from url_support import NODE_STREAMING, deploy_node

SDK = Path(os.environ.get("LAMINA_E2E_NODE_SDK", REPO / "target" / "e2e-node-sdk" / "node_modules"))

SCRIPT = r"""
const L = require(process.env.SDK + '/@aws-sdk/client-lambda');
const client = new L.LambdaClient({
  endpoint: process.env.ENDPOINT, region: process.env.REGION, maxAttempts: 1,
  credentials: { accessKeyId: process.env.KEY, secretAccessKey: process.env.SECRET },
});
const name = process.env.FN;
(async () => {
  const out = {};
  out.created = await client.send(new L.CreateFunctionUrlConfigCommand({ FunctionName: name, AuthType: 'NONE', InvokeMode: 'RESPONSE_STREAM' }));
  out.got = await client.send(new L.GetFunctionUrlConfigCommand({ FunctionName: name }));
  out.updated = await client.send(new L.UpdateFunctionUrlConfigCommand({ FunctionName: name, Cors: { AllowOrigins: ['*'] } }));
  out.listed = await client.send(new L.ListFunctionUrlConfigsCommand({ FunctionName: name }));
  const fetched = await fetch(out.created.FunctionUrl + 'from-js');
  out.fetched = { status: fetched.status, body: await fetched.text() };
  const streamed = await client.send(new L.InvokeWithResponseStreamCommand({ FunctionName: name, Payload: Buffer.from('{}') }));
  out.chunks = [];
  for await (const event of streamed.EventStream) {
    if (event.PayloadChunk) out.chunks.push(Buffer.from(event.PayloadChunk.Payload).toString());
    if (event.InvokeComplete) out.complete = event.InvokeComplete;
  }
  await client.send(new L.DeleteFunctionUrlConfigCommand({ FunctionName: name }));
  try {
    await client.send(new L.GetFunctionUrlConfigCommand({ FunctionName: name }));
  } catch (e) {
    out.afterDelete = e.name;
  }
  for (const k of ['created', 'got', 'updated', 'listed']) delete out[k].$metadata;
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_the_javascript_sdk_manages_urls_and_decodes_streamed_invocations(mlam, module_server, fn_name, tmp_path):
    assert (SDK / "@aws-sdk" / "client-lambda" / "package.json").is_file(), f"no @aws-sdk/client-lambda in {SDK}"
    deploy_node(mlam, fn_name, NODE_STREAMING)
    script = tmp_path / "urls.cjs"
    script.write_text(SCRIPT)
    env = dict(os.environ, SDK=str(SDK), ENDPOINT=module_server.url, REGION=REGION, KEY=ACCESS_KEY,
               SECRET=SECRET_KEY, FN=fn_name)

    done = subprocess.run(["node", str(script)], env=env, capture_output=True, text=True, timeout=180)

    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["created"]["AuthType"] == "NONE"
    assert out["created"]["InvokeMode"] == "RESPONSE_STREAM"
    assert out["got"]["FunctionUrl"] == out["created"]["FunctionUrl"]
    assert out["updated"]["Cors"] == {"AllowOrigins": ["*"]}
    assert [c["FunctionUrl"] for c in out["listed"]["FunctionUrlConfigs"]] == [out["created"]["FunctionUrl"]]
    assert out["fetched"] == {"status": 207, "body": "one;two;three;"}
    assert "".join(out["chunks"]) == "one;two;three;"
    assert len(out["chunks"]) >= 3
    assert out["complete"] == {}
    assert out["afterDelete"] == "ResourceNotFoundException"
