// Replaced by the store work: starts the test PostgreSQL cluster once per run.
export default async function setup(): Promise<void> {}
