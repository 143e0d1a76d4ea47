// The release of keyward, as verifiers report it (a test keeps it equal to package.json's version).

export const KEYWARD_RELEASE = "0.1.0";
