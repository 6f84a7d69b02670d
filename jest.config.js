/** Unit tests are fast and need no Incus; the lab tier drives the real engine against real containers. */
const shared = { preset: "ts-jest", testEnvironment: "node" };
module.exports = {
  projects: [
    { ...shared, displayName: "unit", testMatch: ["<rootDir>/tests/unit/**/*.test.ts"] },
    { ...shared, displayName: "lab", testMatch: ["<rootDir>/tests/lab/**/*.test.ts"] },
  ],
};
