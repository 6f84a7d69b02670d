/**
 * The organisation's policy pack for veza-infra: `pulumi preview --policy-pack policy` (and `up`).
 * Each rule of rules.ts is one stack policy, judged on the stack as it would be after the update.
 * A stack waives a rule with a reason in veza-infra:policyWaivers; the rule then only warns.
 */
import { PolicyPack, PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { RULES, ResourceView, Rule, evaluate, stackFacts } from "./rules";

/** What a preview does not know yet reads as undefined, so one unknown value silences no other rule. */
function view(resource: PolicyResource): ResourceView {
  return {
    urn: resource.urn,
    type: resource.type,
    get: (...path) => {
      try {
        return path.reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], resource.props);
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * A waived mandatory rule must only warn, but Pulumi fixes a policy's level up front: each rule
 * is registered at its own level and reports there only when not waived, and a twin at advisory
 * level (`<rule>-waived`) reports what the waiver lets through.
 */
function policies(rule: Rule): StackValidationPolicy[] {
  const report =
    (level: string): StackValidationPolicy["validateStack"] =>
    (args, reportViolation) => {
      const result = evaluate(rule, stackFacts(args.resources.map(view)));
      if (result.level === level) result.messages.forEach((message) => reportViolation(message));
    };
  const own: StackValidationPolicy = {
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.level,
    validateStack: report(rule.level),
  };
  if (rule.level === "advisory") return [own];
  return [
    own,
    {
      name: `${rule.name}-waived`,
      description: `${rule.description} (waived)`,
      enforcementLevel: "advisory",
      validateStack: report("advisory"),
    },
  ];
}

new PolicyPack("veza-infra", { policies: RULES.flatMap(policies) });
