// Languages: a catalog per language (zh-CN, English), picked from the saved
// choice or navigator.languages; numbers and dates through Intl for the locale.
// Days of the statistics are China Standard Time (UTC+8) whatever the browser's zone.

const en = {
  'app.title': 'WeChat QR console', 'app.language': 'Language', 'app.skip': 'Skip to content', 'app.signOut': 'Sign out',
  'app.failed': 'This page could not load: {message}',
  'app.account': 'Account', 'app.accountUnlisted': '{appid} (not in your list)',
  'app.noAccountTitle': 'No account to show',
  'app.noAccount': 'Your sign-in may see no official account of this console.',
  'app.noAccountAsk': 'Ask an administrator to add you to the console group account-<AppID> (the account’s AppID) to see one account, or admins to see every account; then sign in again.',
  'nav.codes': 'Codes', 'nav.create': 'Create', 'nav.batch': 'Batch', 'nav.sources': 'Sources',
  'nav.accounts': 'Accounts', 'nav.allSources': 'All accounts',
  'kind.permanent': 'Permanent', 'kind.temporary': 'Temporary',
  'codes.title': 'Codes', 'codes.search': 'Search scenes', 'codes.searchHint': 'Any part of a scene, case ignored.',
  'codes.searchButton': 'Search', 'codes.caption': 'Codes, newest first',
  'codes.col.scene': 'Scene', 'codes.col.kind': 'Kind', 'codes.col.expires': 'Expires', 'codes.col.reply': 'Reply',
  'codes.col.scansToday': 'Scans today', 'codes.col.subsToday': 'New followers today',
  'codes.col.scansTotal': 'Scans in total', 'codes.col.subsTotal': 'New followers in total',
  'codes.never': 'Never', 'codes.expired': 'Expired', 'codes.none': 'No codes yet.', 'codes.noMatch': 'No scene contains “{q}”.',
  'codes.first': 'First page', 'codes.next': 'Next page', 'codes.create': 'Create a code',
  'time.left': '{d}d {h}h left', 'time.leftHours': '{h}h {m}m left', 'time.leftMinutes': '{m} min left',
  'reply.none': '(no reply)', 'reply.newsSummary': 'Article: {title}', 'reply.imageSummary': 'Image {id}',
  'reply.legend': 'Reply when scanned', 'reply.typeLabel': 'Reply type', 'reply.typeNone': 'No reply',
  'reply.type.text': 'Text', 'reply.type.news': 'Article (news)', 'reply.type.image': 'Image',
  'reply.content': 'Text', 'reply.contentHint': 'Up to {n} bytes (a Chinese character is 3).',
  'reply.bytesHint': 'Up to {n} bytes.', 'reply.title': 'Title', 'reply.description': 'Description',
  'reply.picURL': 'Picture URL', 'reply.url': 'Link URL', 'reply.mediaID': 'media_id',
  'reply.mediaIDHint': 'The media_id of an image uploaded to the account.',
  'reply.errContent': 'A text reply needs 1 to {n} bytes of text.', 'reply.errTooLong': '{n} bytes is over the limit of {max}.',
  'reply.errTitle': 'A title of 1 to {max} bytes is required.', 'reply.errMediaID': 'A media_id of 1 to {max} bytes is required.',
  'reply.save': 'Save reply', 'reply.saved': 'Saved. The next scan answers with it.',
  'code.title': 'Code {scene}', 'code.notFound': 'There is no code with the scene “{scene}”.',
  'code.scene': 'Scene', 'code.kind': 'Kind', 'code.expires': 'Expires', 'code.created': 'Created',
  'code.expiresAt': '{at} ({left})', 'code.facts': 'About', 'code.image': 'QR code', 'code.imageAlt': 'QR code of the scene {scene}',
  'code.expiredImage': 'This temporary code has expired: re-issue it below to get a new image.',
  'code.size': 'Size (pixels)', 'code.sizeHint': '64 to 2048.', 'code.sizeRange': 'A whole number from 64 to 2048.',
  'code.format': 'Format', 'code.download': 'Download', 'code.reply': 'Reply', 'code.stats': 'Statistics',
  'code.chartTitle': 'Per day, {from} – {to} (China time)', 'code.daysCaption': 'Days with scans (China time)', 'code.day': 'Day',
  'code.reissueTitle': 'Re-issue', 'code.reissue': 'Re-issue the code', 'code.reissued': 'Re-issued; valid until {at}.',
  'total.scans': 'Scans', 'total.subscribes': 'New followers', 'total.unique': 'Unique users',
  'total.unsubscribes': 'Unsubscribes', 'total.net': 'Net gain',
  'period.label': 'Period', 'period.days': 'Last {n} days', 'period.custom': 'From – to', 'period.from': 'From', 'period.to': 'To',
  'period.apply': 'Show', 'period.bad': 'Choose both days.', 'period.order': 'The first day is after the last.',
  'create.title': 'Create a code', 'create.codeLegend': 'The code', 'create.scene': 'Scene',
  'create.sceneHint': 'What WeChat sends back when the code is scanned: 1 to 64 bytes of text, or a number.',
  'create.sceneKind': 'Scene type', 'create.sceneString': 'Text', 'create.sceneNumber': 'Number',
  'create.permanent': 'Permanent', 'create.permanentHint': 'Permanent codes never expire; an account may hold 100,000.',
  'create.expire': 'Valid for (seconds)', 'create.expireHint': '1 to 2,592,000 (30 days). 604,800 is a week.',
  'create.submit': 'Create', 'create.done': 'Created {scene}.', 'create.open': 'Open its page',
  'create.errSceneNumber': 'A number scene is a whole number from 1, without sign or leading zero.',
  'create.errScenePermanent': 'A permanent number scene is 1 to {max}.', 'create.errSceneTemporary': 'A temporary number scene is 1 to {max}.',
  'create.errSceneEmpty': 'A text scene needs 1 to {max} bytes.', 'create.errSceneLong': '{n} bytes is over WeChat’s limit of {max}.',
  'create.errSceneSpaces': 'No spaces at the start or end.', 'create.errSceneLogin': 'The prefix “login:” is reserved for log-in sessions.',
  'create.errSceneChar': 'The character {c} does not survive WeChat’s round trip.', 'create.errExpire': 'A whole number from 1 to 2,592,000.',
  'batch.title': 'Batch', 'batch.intro': 'Upload a CSV with a header row. Columns: scene (required), permanent (true/false), expire_seconds, reply (a text reply), tag. A scene of digits without a leading zero is a number scene.',
  'batch.sampleLabel': 'An example CSV', 'batch.file': 'CSV file', 'batch.fileHint': 'UTF-8, up to 4 MiB and 5,000 rows.',
  'batch.expire': 'Temporary codes valid for (seconds)', 'batch.expireHint': 'For rows without expire_seconds. 2,592,000 is 30 days.',
  'batch.size': 'Image size (pixels)', 'batch.sizeHint': 'Of each PNG in the ZIP: 64 to 2048.',
  'batch.parse': 'Check the file', 'batch.noFile': 'Choose a CSV file.', 'batch.tooBig': 'The file is over {max}.',
  'batch.range': 'A whole number from {lo} to {hi}.',
  'batch.summary': '{rows} rows: {good} ready, {bad} refused.', 'batch.refused': 'Refused lines', 'batch.line': 'Line {line}',
  'batch.start': 'Create {n} codes', 'batch.running': 'Creating', 'batch.progress': 'Progress', 'batch.cancel': 'Stop',
  'batch.cancelled': 'Stopped. The codes made so far are kept.', 'batch.failures': 'Failures',
  'batch.imageFailed': 'created, but its image could not be fetched: {message}',
  'batch.quota': 'WeChat’s daily quota for creating codes is used up (45009): the batch stopped. Try the rest tomorrow.',
  'batch.permanentQuota': 'The batch stopped: {message}', 'batch.kept': '{n} codes made before that are kept and in the ZIP.',
  'batch.unmade': 'Not created ({n}). Running the same file again later creates them: permanent codes already made come back unchanged, temporary ones are made anew.',
  'batch.nothing': 'No code was made.', 'batch.made': '{n} of {total} codes made.', 'batch.download': 'Download {name}',
  'sources.title': 'Sources', 'sources.caption': 'Scenes by new followers, {from} – {to} (China time)',
  'sources.rank': '#', 'sources.totalSubs': 'New followers in total', 'sources.export': 'Export CSV',
  'sources.none': 'No scene has statistics yet.', 'sources.chartTitle': 'New followers by scene (top {n})',
  'actions.title': 'Scan actions', 'actions.intro': 'After each counted scan the follower gets the tag and the follow-up messages, in order, within seconds.',
  'actions.legend': 'Tag and follow-ups', 'actions.tag': 'Tag', 'actions.noTag': '(no tag)',
  'actions.tagHint': 'A WeChat user tag given to everyone who scans: up to {max} bytes (10 Chinese characters). Empty for none.',
  'actions.followupsHint': 'Up to {max} follow-up messages, sent as customer-service messages in this order.',
  'actions.followup': 'Follow-up {n}', 'actions.add': 'Add a follow-up', 'actions.remove': 'Remove follow-up {n}',
  'actions.save': 'Save tag and follow-ups', 'actions.saved': 'Saved. The next scan acts on them.',
  'actions.errTagLong': '{n} bytes is over WeChat’s limit of {max} (a Chinese character is 3).',
  'actions.errTagSpaces': 'No spaces at the start or end.', 'actions.errTagChar': 'The character {c} is not allowed in a tag.',
  'actions.errTooMany': 'At most {max} follow-ups.',
  'actions.count.tagged': 'Tagged', 'actions.count.tagFailed': 'Tagging refused', 'actions.count.sent': 'Follow-ups sent',
  'actions.count.skipped': 'Follow-ups skipped', 'actions.count.failed': 'Follow-ups failed',
  'accounts.title': 'Official accounts', 'accounts.caption': 'The accounts you may see; today is {day} (China time)',
  'accounts.name': 'Name', 'accounts.appid': 'AppID', 'accounts.kind': 'Kind', 'accounts.status': 'Status',
  'accounts.default': 'Default', 'accounts.token': 'Access token', 'accounts.actions': 'Actions', 'accounts.isDefault': 'Default',
  'accounts.kindDirect': 'Direct', 'accounts.kindAuthorizer': 'Authorized (third-party platform)',
  'accounts.statusActive': 'Active', 'accounts.statusRevoked': 'Revoked',
  'accounts.refreshed': 'Refreshed {at}', 'accounts.neverRefreshed': 'Not fetched yet', 'accounts.validUntil': 'Valid until {at}',
  'accounts.tokenError': 'Fetching it failed:', 'accounts.tokenErrorAt': 'Fetching it failed {at}:',
  'accounts.hintSecret': 'WeChat refuses the AppSecret (40125): it is wrong or was reset. Copy the current one from the WeChat console (Settings and Development > Basic configuration) and give it to the account again.',
  'accounts.hintWhitelist': 'WeChat refuses calls from this stack’s address (40164): put the stack’s EgressIP output on the account’s IP whitelist (WeChat console: Settings and Development > Basic configuration; docs/operations.md, “Fixed egress”).',
  'accounts.hintAppID': 'WeChat knows no account with this AppID (40013): check it in the WeChat console (Settings and Development > Basic configuration).',
  'accounts.remove': 'Remove', 'accounts.removeNamed': 'Remove {name}', 'accounts.removeAsk': 'Remove {name} ({appid}) from this console?',
  'accounts.removeConfirm': 'Yes, remove it', 'accounts.removeCancel': 'Cancel', 'accounts.removed': 'Removed {name} ({appid}).',
  'accounts.addTitle': 'Add an account',
  'accounts.addIntro': 'An official account whose server configuration points at this stack, with its own AppSecret and Token. WeChat is asked to accept the AppSecret before the account is added. Only administrators (console group admins) add and remove accounts.',
  'accounts.appidHint': 'wx and 16 letters or digits, as the WeChat console shows it.', 'accounts.nameHint': 'What this console calls it: up to 64 characters.',
  'accounts.appSecret': 'AppSecret', 'accounts.appSecretHint': '32 letters or digits. Sent once; never shown again.',
  'accounts.tokenField': 'Token', 'accounts.tokenHint': 'The server configuration’s Token: 3 to 32 letters or digits.',
  'accounts.aesKey': 'EncodingAESKey', 'accounts.aesKeyHint': '43 letters or digits; for the compatible and safe modes.',
  'accounts.mode': 'Message mode', 'accounts.modeHint': 'As chosen in the server configuration.',
  'accounts.modeDefault': 'Default (safe with a key, else plaintext)', 'accounts.modePlaintext': 'Plaintext',
  'accounts.modeCompatible': 'Compatible', 'accounts.modeSafe': 'Safe',
  'accounts.add': 'Add the account', 'accounts.added': 'Added {name} ({appid}).',
  'platform.typeSubscription': 'Subscription account', 'platform.typeUpgraded': 'Subscription account (upgraded from an old account)',
  'platform.typeService': 'Service account', 'platform.typeOther': 'Account type {n}',
  'platform.unverified': 'not verified', 'platform.verifiedWeChat': 'WeChat-verified', 'platform.verifiedOther': 'verified otherwise (type {n})',
  'platform.typeAndVerified': '{type}, {verified}',
  'platform.set.messages': 'Message management', 'platform.set.users': 'User management', 'platform.set.accountService': 'Account service',
  'platform.setNamed': '{name} ({n})', 'platform.setNumber': 'Permission set {n}', 'platform.listSeparator': ', ',
  'accounts.permissions': 'Permissions: {sets}',
  'accounts.revokedWarning': 'This account withdrew its authorization of the platform: its data can be read, and nothing is done for it until its administrator authorizes again.',
  'accounts.missingWarning': 'WeChat refused calls needing {sets}: the account’s administrator authorizes again and grants it.',
  'platform.notGranted': '{feature} need {set}, which this account has not granted: its administrator can authorize again and grant it.',
  'platform.featureCodes': 'New codes',
  'platform.featureTags': 'Tags',
  'platform.featureMessages': 'Follow-up messages',
  'accounts.reauthorizeWarning': 'This account must authorize the platform again before the stack can act for it.',
  'accounts.reauthorizeWarningWhy': 'This account must authorize the platform again before the stack can act for it: {reason}',
  'accounts.reauthorize': 'Re-authorize', 'accounts.reauthorizeNamed': 'Re-authorize {name}',
  'connect.heading': 'Connect an official account',
  'connect.intro': 'An official account authorizes this stack’s third-party platform on WeChat’s page, signed in by its administrator (scanning with WeChat), and comes back here connected: no AppSecret or Token to copy. The same steps re-authorize an account, to grant permission sets again.',
  'connect.start': 'Connect an official account',
  'connect.linkIntro': 'Open WeChat’s authorization page, sign in as the official account’s administrator and grant the permission sets: WeChat then sends you back to this console.',
  'connect.link': 'Open WeChat’s authorization page', 'connect.mobileIntro': 'On a phone, in WeChat:', 'connect.mobileLink': 'the authorization link for WeChat on a phone',
  'connect.expires': 'These links work once, until {at}; after that, start again.',
  'connect.title': 'Connecting an official account', 'connect.completing': 'Completing the authorization…',
  'connect.waiting': 'WeChat’s own notice of this authorization is completing it; waiting for the account…',
  'connect.stillWaiting': 'The account shows on the Accounts page once it is connected.',
  'connect.noCode': 'There is no authorization to complete here: WeChat’s authorization page sends you to this page with a code, which works once. Connect an account from the Accounts page.',
  'connect.doneTitle': 'Connected: {name}', 'connect.done': '{name} is connected to this console.',
  'connect.userName': 'Original ID', 'connect.principal': 'Principal', 'connect.type': 'Type', 'connect.permissions': 'Permissions granted',
  'connect.noPermissions': 'none', 'connect.open': 'Open the codes of {name}', 'connect.toAccounts': 'Back to the accounts',
  'create.toAccounts': 'Authorize again from the Accounts page.',
  'allSources.title': 'All accounts', 'allSources.caption': 'Accounts, {from} – {to} (China time)', 'allSources.account': 'Account',
  'allSources.sum': 'All accounts', 'allSources.none': 'No account to show.', 'allSources.chartTitle': 'New followers by account',
};

const zh = {
  'app.title': '微信二维码控制台', 'app.language': '语言', 'app.skip': '跳到正文', 'app.signOut': '退出登录',
  'app.failed': '页面加载失败：{message}',
  'app.account': '公众号', 'app.accountUnlisted': '{appid}（不在你的列表中）',
  'app.noAccountTitle': '没有可查看的公众号',
  'app.noAccount': '你的账号不能查看本控制台的任何公众号。',
  'app.noAccountAsk': '请管理员把你加入控制台用户组 account-<AppID>（AppID 为公众号的 AppID，可查看该公众号），或 admins（可查看全部公众号），然后重新登录。',
  'nav.codes': '二维码', 'nav.create': '新建', 'nav.batch': '批量', 'nav.sources': '渠道',
  'nav.accounts': '公众号管理', 'nav.allSources': '全部公众号',
  'kind.permanent': '永久', 'kind.temporary': '临时',
  'codes.title': '二维码', 'codes.search': '搜索场景', 'codes.searchHint': '场景的任意部分，不区分大小写。',
  'codes.searchButton': '搜索', 'codes.caption': '二维码，最新的在前',
  'codes.col.scene': '场景', 'codes.col.kind': '类型', 'codes.col.expires': '有效期', 'codes.col.reply': '回复',
  'codes.col.scansToday': '今日扫码', 'codes.col.subsToday': '今日新关注',
  'codes.col.scansTotal': '累计扫码', 'codes.col.subsTotal': '累计新关注',
  'codes.never': '永不过期', 'codes.expired': '已过期', 'codes.none': '还没有二维码。', 'codes.noMatch': '没有包含“{q}”的场景。',
  'codes.first': '第一页', 'codes.next': '下一页', 'codes.create': '新建二维码',
  'time.left': '剩余 {d} 天 {h} 小时', 'time.leftHours': '剩余 {h} 小时 {m} 分', 'time.leftMinutes': '剩余 {m} 分钟',
  'reply.none': '（无回复）', 'reply.newsSummary': '图文：{title}', 'reply.imageSummary': '图片 {id}',
  'reply.legend': '扫码后的回复', 'reply.typeLabel': '回复类型', 'reply.typeNone': '不回复',
  'reply.type.text': '文本', 'reply.type.news': '图文', 'reply.type.image': '图片',
  'reply.content': '文本', 'reply.contentHint': '最多 {n} 字节（一个汉字 3 字节）。',
  'reply.bytesHint': '最多 {n} 字节。', 'reply.title': '标题', 'reply.description': '描述',
  'reply.picURL': '图片链接', 'reply.url': '跳转链接', 'reply.mediaID': 'media_id',
  'reply.mediaIDHint': '已上传到公众号的图片的 media_id。',
  'reply.errContent': '文本回复需要 1 到 {n} 字节。', 'reply.errTooLong': '{n} 字节，超过上限 {max}。',
  'reply.errTitle': '需要 1 到 {max} 字节的标题。', 'reply.errMediaID': '需要 1 到 {max} 字节的 media_id。',
  'reply.save': '保存回复', 'reply.saved': '已保存，下一次扫码即用新回复。',
  'code.title': '二维码 {scene}', 'code.notFound': '没有场景为“{scene}”的二维码。',
  'code.scene': '场景', 'code.kind': '类型', 'code.expires': '有效期', 'code.created': '创建时间',
  'code.expiresAt': '{at}（{left}）', 'code.facts': '基本信息', 'code.image': '二维码图片', 'code.imageAlt': '场景 {scene} 的二维码',
  'code.expiredImage': '这个临时二维码已过期：在下方重新生成即可得到新图片。',
  'code.size': '尺寸（像素）', 'code.sizeHint': '64 到 2048。', 'code.sizeRange': '请输入 64 到 2048 的整数。',
  'code.format': '格式', 'code.download': '下载', 'code.reply': '回复', 'code.stats': '统计',
  'code.chartTitle': '每日数据，{from} – {to}（北京时间）', 'code.daysCaption': '有扫码的日期（北京时间）', 'code.day': '日期',
  'code.reissueTitle': '重新生成', 'code.reissue': '重新生成二维码', 'code.reissued': '已重新生成，有效期至 {at}。',
  'total.scans': '扫码次数', 'total.subscribes': '新关注', 'total.unique': '扫码人数',
  'total.unsubscribes': '取消关注', 'total.net': '净增关注',
  'period.label': '时间段', 'period.days': '最近 {n} 天', 'period.custom': '自定义', 'period.from': '开始', 'period.to': '结束',
  'period.apply': '查看', 'period.bad': '请选择开始和结束日期。', 'period.order': '开始日期晚于结束日期。',
  'create.title': '新建二维码', 'create.codeLegend': '二维码', 'create.scene': '场景值',
  'create.sceneHint': '扫码时微信推送回来的值：1 到 64 字节的文本，或一个数字。',
  'create.sceneKind': '场景类型', 'create.sceneString': '文本', 'create.sceneNumber': '数字',
  'create.permanent': '永久二维码', 'create.permanentHint': '永久二维码不会过期；每个公众号最多 100,000 个。',
  'create.expire': '有效期（秒）', 'create.expireHint': '1 到 2,592,000（30 天）。604,800 为一周。',
  'create.submit': '创建', 'create.done': '已创建 {scene}。', 'create.open': '打开详情',
  'create.errSceneNumber': '数字场景是从 1 开始的整数，不带符号和前导零。',
  'create.errScenePermanent': '永久数字场景为 1 到 {max}。', 'create.errSceneTemporary': '临时数字场景为 1 到 {max}。',
  'create.errSceneEmpty': '文本场景需要 1 到 {max} 字节。', 'create.errSceneLong': '{n} 字节，超过微信上限 {max}。',
  'create.errSceneSpaces': '开头和结尾不能有空格。', 'create.errSceneLogin': '前缀“login:”保留给扫码登录。',
  'create.errSceneChar': '字符 {c} 经过微信推送后会改变，不能使用。', 'create.errExpire': '请输入 1 到 2,592,000 的整数。',
  'batch.title': '批量生成', 'batch.intro': '上传带表头的 CSV。列：scene（必填）、permanent（true/false）、expire_seconds、reply（文本回复）、tag。不以 0 开头的纯数字场景按数字场景处理。',
  'batch.sampleLabel': 'CSV 示例', 'batch.file': 'CSV 文件', 'batch.fileHint': 'UTF-8 编码，最大 4 MiB、5,000 行。',
  'batch.expire': '临时二维码有效期（秒）', 'batch.expireHint': '用于没有 expire_seconds 的行。2,592,000 为 30 天。',
  'batch.size': '图片尺寸（像素）', 'batch.sizeHint': 'ZIP 中每张 PNG 的尺寸：64 到 2048。',
  'batch.parse': '检查文件', 'batch.noFile': '请选择 CSV 文件。', 'batch.tooBig': '文件超过 {max}。',
  'batch.range': '请输入 {lo} 到 {hi} 的整数。',
  'batch.summary': '共 {rows} 行：{good} 行可创建，{bad} 行被拒绝。', 'batch.refused': '被拒绝的行', 'batch.line': '第 {line} 行',
  'batch.start': '创建 {n} 个二维码', 'batch.running': '创建中', 'batch.progress': '进度', 'batch.cancel': '停止',
  'batch.cancelled': '已停止，已创建的二维码保留。', 'batch.failures': '失败',
  'batch.imageFailed': '已创建，但获取图片失败：{message}',
  'batch.quota': '微信今天的二维码创建额度已用完（45009），批量已停止。剩余的请明天再试。',
  'batch.permanentQuota': '批量已停止：{message}', 'batch.kept': '此前创建的 {n} 个二维码保留，并在 ZIP 中。',
  'batch.unmade': '未创建（{n} 个）。稍后再次运行同一文件即可创建：已创建的永久二维码原样返回，临时二维码会重新生成。',
  'batch.nothing': '没有创建任何二维码。', 'batch.made': '已创建 {n} / {total} 个二维码。', 'batch.download': '下载 {name}',
  'sources.title': '渠道统计', 'sources.caption': '各场景新关注排行，{from} – {to}（北京时间）',
  'sources.rank': '排名', 'sources.totalSubs': '累计新关注', 'sources.export': '导出 CSV',
  'sources.none': '还没有场景的统计数据。', 'sources.chartTitle': '新关注，前 {n} 个场景',
  'actions.title': '扫码动作', 'actions.intro': '每次计入统计的扫码后，几秒内为粉丝打上标签，并按顺序发送后续消息。',
  'actions.legend': '标签和后续消息', 'actions.tag': '标签', 'actions.noTag': '（无标签）',
  'actions.tagHint': '为每个扫码的粉丝打上的微信用户标签：最多 {max} 字节（10 个汉字）。留空即不打标签。',
  'actions.followupsHint': '最多 {max} 条后续消息，按此顺序以客服消息发送。',
  'actions.followup': '后续消息 {n}', 'actions.add': '添加后续消息', 'actions.remove': '删除后续消息 {n}',
  'actions.save': '保存标签和后续消息', 'actions.saved': '已保存，下一次扫码即按此执行。',
  'actions.errTagLong': '{n} 字节，超过微信上限 {max}（一个汉字 3 字节）。',
  'actions.errTagSpaces': '开头和结尾不能有空格。', 'actions.errTagChar': '标签中不能使用字符 {c}。',
  'actions.errTooMany': '最多 {max} 条后续消息。',
  'actions.count.tagged': '已打标签', 'actions.count.tagFailed': '打标签被拒', 'actions.count.sent': '后续消息已发送',
  'actions.count.skipped': '后续消息已跳过', 'actions.count.failed': '后续消息发送失败',
  'accounts.title': '公众号管理', 'accounts.caption': '你可查看的公众号；今天为 {day}（北京时间）',
  'accounts.name': '名称', 'accounts.appid': 'AppID', 'accounts.kind': '接入方式', 'accounts.status': '状态',
  'accounts.default': '默认', 'accounts.token': 'access_token', 'accounts.actions': '操作', 'accounts.isDefault': '默认',
  'accounts.kindDirect': '直接接入', 'accounts.kindAuthorizer': '授权接入（第三方平台）',
  'accounts.statusActive': '正常', 'accounts.statusRevoked': '已取消授权',
  'accounts.refreshed': '{at} 刷新', 'accounts.neverRefreshed': '尚未获取', 'accounts.validUntil': '有效期至 {at}',
  'accounts.tokenError': '获取失败：', 'accounts.tokenErrorAt': '{at} 获取失败：',
  'accounts.hintSecret': '微信拒绝了 AppSecret（40125）：它有误或已被重置。请从公众平台（设置与开发 > 基本配置）复制当前的 AppSecret，重新提供给该公众号。',
  'accounts.hintWhitelist': '微信拒绝来自本服务地址的调用（40164）：请把堆栈输出的 EgressIP 加入该公众号的 IP 白名单（公众平台：设置与开发 > 基本配置；见 docs/operations.md “Fixed egress”）。',
  'accounts.hintAppID': '微信没有这个 AppID 的公众号（40013）：请在公众平台（设置与开发 > 基本配置）核对。',
  'accounts.remove': '移除', 'accounts.removeNamed': '移除 {name}', 'accounts.removeAsk': '从本控制台移除 {name}（{appid}）？',
  'accounts.removeConfirm': '确认移除', 'accounts.removeCancel': '取消', 'accounts.removed': '已移除 {name}（{appid}）。',
  'accounts.addTitle': '添加公众号',
  'accounts.addIntro': '服务器配置指向本服务、使用自己的 AppSecret 和 Token 的公众号。添加前会先请微信验证 AppSecret。只有管理员（控制台用户组 admins）可以添加和移除公众号。',
  'accounts.appidHint': 'wx 加 16 位字母或数字，见公众平台。', 'accounts.nameHint': '在本控制台显示的名称：最多 64 个字符。',
  'accounts.appSecret': 'AppSecret', 'accounts.appSecretHint': '32 位字母或数字。只发送一次，不再显示。',
  'accounts.tokenField': 'Token', 'accounts.tokenHint': '服务器配置中的令牌（Token）：3 到 32 位字母或数字。',
  'accounts.aesKey': 'EncodingAESKey', 'accounts.aesKeyHint': '43 位字母或数字；兼容模式和安全模式需要。',
  'accounts.mode': '消息加解密方式', 'accounts.modeHint': '与服务器配置中的选择一致。',
  'accounts.modeDefault': '默认（有密钥为安全模式，否则明文）', 'accounts.modePlaintext': '明文模式',
  'accounts.modeCompatible': '兼容模式', 'accounts.modeSafe': '安全模式',
  'accounts.add': '添加公众号', 'accounts.added': '已添加 {name}（{appid}）。',
  'platform.typeSubscription': '订阅号', 'platform.typeUpgraded': '订阅号（由历史老帐号升级）',
  'platform.typeService': '服务号', 'platform.typeOther': '帐号类型 {n}',
  'platform.unverified': '未认证', 'platform.verifiedWeChat': '微信认证', 'platform.verifiedOther': '其他认证（类型 {n}）',
  'platform.typeAndVerified': '{type}，{verified}',
  'platform.set.messages': '消息管理', 'platform.set.users': '用户管理', 'platform.set.accountService': '帐号服务',
  'platform.setNamed': '{name}（{n}）', 'platform.setNumber': '权限集 {n}', 'platform.listSeparator': '、',
  'accounts.permissions': '已授权：{sets}',
  'accounts.revokedWarning': '该公众号已取消对第三方平台的授权：其数据仍可查看，在管理员重新授权之前不再为它执行任何操作。',
  'accounts.missingWarning': '微信拒绝了需要{sets}的调用：请该公众号管理员重新授权并勾选此权限。',
  'platform.notGranted': '{feature}需要{set}，该公众号未授权：管理员可重新授权并勾选。',
  'platform.featureCodes': '新建二维码',
  'platform.featureTags': '标签',
  'platform.featureMessages': '后续消息',
  'accounts.reauthorizeWarning': '该公众号需要重新授权第三方平台，之后本服务才能为它执行操作。',
  'accounts.reauthorizeWarningWhy': '该公众号需要重新授权第三方平台，之后本服务才能为它执行操作：{reason}',
  'accounts.reauthorize': '重新授权', 'accounts.reauthorizeNamed': '重新授权 {name}',
  'connect.heading': '授权接入公众号',
  'connect.intro': '公众号管理员在微信的授权页（用微信扫码登录）授权本服务的第三方平台后，回到这里即已接入：无需复制 AppSecret 或 Token。重新授权（再次勾选权限集）也走同样的步骤。',
  'connect.start': '授权接入公众号',
  'connect.linkIntro': '打开微信的授权页，以公众号管理员身份登录并勾选权限集：完成后微信会带你回到本控制台。',
  'connect.link': '打开微信授权页', 'connect.mobileIntro': '在手机微信中：', 'connect.mobileLink': '手机端授权链接',
  'connect.expires': '链接只能使用一次，有效至 {at}；过期后请重新开始。',
  'connect.title': '正在接入公众号', 'connect.completing': '正在完成授权…',
  'connect.waiting': '微信的授权通知正在完成这次授权，正在等待公众号出现…',
  'connect.stillWaiting': '接入完成后，该公众号会出现在公众号管理页。',
  'connect.noCode': '这里没有需要完成的授权：微信授权页会带着授权码（只能使用一次）跳转到本页。请从公众号管理页开始接入。',
  'connect.doneTitle': '已接入：{name}', 'connect.done': '{name} 已接入本控制台。',
  'connect.userName': '原始 ID', 'connect.principal': '主体', 'connect.type': '类型', 'connect.permissions': '已授权的权限集',
  'connect.noPermissions': '无', 'connect.open': '查看 {name} 的二维码', 'connect.toAccounts': '返回公众号管理',
  'create.toAccounts': '请在公众号管理页重新授权。',
  'allSources.title': '全部公众号', 'allSources.caption': '各公众号数据，{from} – {to}（北京时间）', 'allSources.account': '公众号',
  'allSources.sum': '全部公众号', 'allSources.none': '没有可显示的公众号。', 'allSources.chartTitle': '各公众号新关注',
};

export const catalogs = {en, 'zh-CN': zh};
const storageKey = 'wechatqr.console.lang';
let locale = 'en';

export function currentLocale() { return locale; }

// pickLocale: the saved choice, else the first of the browser's languages we have.
export function pickLocale() {
  let saved = null;
  try { saved = localStorage.getItem(storageKey); } catch (_) { /* storage off */ }
  if (saved && catalogs[saved]) { locale = saved; return locale; }
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const low = String(l).toLowerCase();
    if (low.startsWith('zh')) { locale = 'zh-CN'; return locale; }
    if (low.startsWith('en')) { locale = 'en'; return locale; }
  }
  locale = 'en';
  return locale;
}

export function setLocale(l) {
  if (!catalogs[l]) return;
  locale = l;
  try { localStorage.setItem(storageKey, l); } catch (_) { /* storage off */ }
}

// t looks a message up and fills {name} placeholders with text.
export function t(key, vars) {
  const s = catalogs[locale][key] ?? en[key] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined ? m : String(vars[k]))) : s;
}

export function num(n) { return new Intl.NumberFormat(locale).format(n); }

// dateTime shows an RFC 3339 instant in the browser's zone, with the zone named.
export function dateTime(iso) {
  if (!iso) return '';
  // (dateStyle cannot be combined with timeZoneName: the fields are spelled out.)
  return new Intl.DateTimeFormat(locale, {year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
    timeZoneName: 'short'}).format(new Date(iso));
}

// day shows a China-time day (YYYY-MM-DD) in the locale's style.
export function day(d) {
  return new Intl.DateTimeFormat(locale, {dateStyle: 'medium', timeZone: 'Asia/Shanghai'}).format(new Date(d + 'T12:00:00+08:00'));
}

// remaining is the time left until an RFC 3339 instant.
export function remaining(iso) {
  const s = Math.max(0, Math.floor((Date.parse(iso) - Date.now()) / 1000));
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d > 0) return t('time.left', {d: num(d), h: hh});
  if (hh > 0) return t('time.leftHours', {h: hh, m});
  return t('time.leftMinutes', {m: Math.max(1, m)});
}

// chinaToday is today's date in China Standard Time, YYYY-MM-DD.
export function chinaToday() {
  return new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
}

// addDays moves a YYYY-MM-DD day by n days (calendar arithmetic, no zone).
export function addDays(d, n) {
  const t0 = Date.parse(d + 'T00:00:00Z') + n * 86400e3;
  return new Date(t0).toISOString().slice(0, 10);
}
