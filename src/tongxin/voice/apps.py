from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "tongxin.voice"
    label = "voice"
    verbose_name = "居民诉求与通知"
