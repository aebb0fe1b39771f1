export function ConfigPage() {
  return (
    <section aria-labelledby="config-title">
      <h2 id="config-title">Config</h2>
      <div className="panel muted">The config API is not available yet.</div>
    </section>
  );
}
