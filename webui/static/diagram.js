// Renders the workflow diagram with the vendored Mermaid; the text and table stay for
// screen readers and for when scripts are off.
/* global mermaid */
mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
mermaid.run({ querySelector: ".mermaid" });
