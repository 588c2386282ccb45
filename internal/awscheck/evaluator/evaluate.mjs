// evaluate.mjs: the IAM evaluation of internal/awscheck, done by @cloud-copilot/iam-simulate
// (pinned in package-lock.json), never by hand-written rules. Reads a JSON array of requests
// on stdin:
//   {id, principal, action, resource, accountId, identityPolicies: [policy...],
//    resourcePolicy: policy|null, context: {key: value|[values]}}
// and writes a JSON array of {id, result, error} on stdout, result being Allowed,
// ExplicitlyDenied or ImplicitlyDenied as the library decides it. A request the library
// refuses to evaluate (an unknown action, a bad policy) comes back with error set: the Go
// side fails on it, so a typo can never pass as a denial.
import { runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const c of process.stdin) chunks.push(c)
const requests = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const out = []
for (const r of requests) {
  const simulation = {
    identityPolicies: r.identityPolicies.map((policy, i) => ({ name: `identity-${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: r.resourcePolicy ?? undefined,
    request: {
      principal: r.principal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.accountId },
      contextVariables: r.context ?? {}
    }
  }
  try {
    const res = await runSimulation(simulation, {})
    if (res.resultType === 'error') {
      out.push({ id: r.id, error: JSON.stringify(res.errors) })
    } else {
      out.push({ id: r.id, result: res.overallResult })
    }
  } catch (e) {
    out.push({ id: r.id, error: String(e && e.stack ? e.stack : e) })
  }
}
process.stdout.write(JSON.stringify(out))
