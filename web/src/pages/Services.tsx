export function ServicesPage() {
  return (
    <section aria-labelledby="services-title">
      <h2 id="services-title">Services</h2>
      <div className="panel muted">The registry API is not available yet.</div>
    </section>
  );
}
