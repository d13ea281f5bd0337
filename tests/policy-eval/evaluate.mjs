// Reads a JSON array of IAM authorization requests on stdin and prints, as a JSON array on stdout,
// the decision an independent evaluator (@cloud-copilot/iam-simulate) reaches for each one.
//
// Why a separate program: the permission-boundary fence must be proven by code we did not write.
// The Rust tests render the policies with the provider's own builders and hand them here.
//
// Request shape: { name, principal, action, resource, resourceAccount?, context?,
//                  identityPolicies: [doc...], boundaryPolicies?: [doc...], resourcePolicy? }
// Answer shape:  { name, decision: "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied" | "Error",
//                  error? }
import { runSimulation } from '@cloud-copilot/iam-simulate';

function accountOf(arn) {
  const parts = String(arn).split(':');
  return parts.length > 4 && /^\d{12}$/.test(parts[4]) ? parts[4] : undefined;
}

async function evaluate(request) {
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: {
        resource: request.resource,
        accountId: request.resourceAccount ?? accountOf(request.resource) ?? accountOf(request.principal),
      },
      contextVariables: request.context ?? {},
    },
    identityPolicies: (request.identityPolicies ?? []).map((policy, i) => ({ name: `identity${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  };
  if (request.boundaryPolicies) {
    simulation.permissionBoundaryPolicies = request.boundaryPolicies.map((policy, i) => ({ name: `boundary${i}`, policy }));
  }
  if (request.resourcePolicy) {
    simulation.resourcePolicy = request.resourcePolicy;
  }
  const result = await runSimulation(simulation, { simulationMode: 'Strict' });
  if (result.resultType === 'error') {
    return { name: request.name, decision: 'Error', error: JSON.stringify(result.errors) };
  }
  return { name: request.name, decision: result.overallResult };
}

let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk;
const requests = JSON.parse(input);
const answers = [];
for (const request of requests) {
  try {
    answers.push(await evaluate(request));
  } catch (err) {
    answers.push({ name: request.name, decision: 'Error', error: String(err && err.stack || err) });
  }
}
process.stdout.write(JSON.stringify(answers));
