import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/node_modules/", "bin/", "dist/", "jest.config.js", "bench/results/"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      // A rest sibling leaves fields out of a copy: `const { vrrp, ...shared } = args`.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", ignoreRestSiblings: true }],
    },
  },
  // @pulumi/eslint-plugin 0.3.1 ships its two rules and no preset; both need type information.
  {
    files: ["**/*.ts"],
    plugins: { "@pulumi": pulumi },
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
    },
  },
);
