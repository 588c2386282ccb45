// Package testkit is the folder of test and benchmark support: nothing in it is part of
// the product, and no product binary links it (TestProductsLinkNoTestCode). Its packages:
//
//   - corpus: synthetic CloudTrail traffic for the audit tests and benchmarks;
//   - auditcorpus: the command that writes that traffic to log files (scripts/bench-audit.sh);
//   - ratesbench: the load program of make bench-api (scripts/bench-api.sh);
//   - awsfixture: queues and EventBridge buses with the deployed patterns on the emulator,
//     for the audit and cost tests;
//   - esm: the stand-in for Lambda's SQS event source mapping, which feeds the real auditor
//     behind aws-lambda-rie from the backfill's FIFO queue (moto runs no Lambda);
//   - backfillbench: the AWS side of make bench-backfill (scripts/bench-backfill.sh).
//
// The other test helpers live beside what they serve: internal/testenv (the local stack),
// internal/loadharness (the API under load), internal/rotation/rotationtest and
// internal/bootstrap/bootstraptest.
package testkit
