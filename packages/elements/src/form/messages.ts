import type { Messages } from '../shared/i18n.js';
export const messages = {
  loading: ['加载中…', 'Loading…'],
  live: ['实时协作中', 'Live'],
  offline: [
    '离线：修改已保存在本机，联网后自动同步',
    'Offline: changes are kept on this device and sync when you reconnect',
  ],
  closed: ['商机已结束，没有待填写的阶段表单', 'The opportunity is closed: no stage form to fill'],
  requirements: ['阶段要求', 'Stage requirements'],
  noFields: ['本阶段没有需要填写的字段', 'This stage has no fields to fill'],
  required: ['请填写“{label}”', 'Fill in "{label}"'],
  requiredShort: ['必填', 'Required'],
  choose: ['请选择', 'Choose…'],
  uploading: ['上传中…', 'Uploading…'],
  uploadFailed: ['上传失败', 'Upload failed'],
  downloadFailed: ['下载失败', 'Download failed'],
} satisfies Messages;
