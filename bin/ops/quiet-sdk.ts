// Imported first by every operator command and by `npm start`: the AWS SDK prints a
// nine-line notice on every run under Node.js 20 (NodeVersionSupportWarning: its releases
// after early 2027 need Node 22). It concerns upgrading the machine, not the command's
// result, so the project's own processes turn off that one notice through the SDK's own
// switch; every other warning still prints. Set the variable to anything but `true` to see it.

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
