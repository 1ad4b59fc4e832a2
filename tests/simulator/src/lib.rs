//! Bitbucket Cloud and Data Center simulator (tests and demo only).
